"""Every built page, opened in headless Chromium with no network, as a reader sees it.

Each page is visited once (the ``visits`` fixture) and what happened is
recorded; the tests below then assert on the records: no request leaves the
build, no console error, maths rendered, images loaded, kernel-free figures
that respond to their slider, a full-page screenshot under _build/screenshots/.

Without a ``chromium`` on PATH these tests skip, except under CI=true, where a
missing browser is a failure.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nbformat
import pytest
from book_site import (
    CHROMIUM_ARGS,
    HTML,
    ROOT,
    SCREENSHOTS,
    build_once,
    built_pages,
    chromium,
    running_in_ci,
    screenshot_path,
    serve,
    toc_files,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from optlib.exercises import EXERCISES

pytestmark = pytest.mark.book

# How long one page may take to load and settle. A page loads in about a second on a
# quiet machine; a shared runner under load has been measured past 30 s. The limit only
# decides how long a broken page takes to be reported, never whether a page passes.
PAGE_TIMEOUT_MS = 120_000
# How long to wait for a page's network to fall quiet (no request for 0.5 s) before reading
# it anyway; see wait_for_quiet_network.
NETWORK_QUIET_MS = 15_000

# Wait for MathJax to finish typesetting, where the page loads it.
WAIT_FOR_MATHJAX = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
}"""

# Load lazy images now and wait until every image has either loaded or failed.
SETTLE_IMAGES = """async () => {
    const images = Array.from(document.images);
    images.forEach(img => { img.loading = "eager"; });
    await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
        img.addEventListener("load", done, {once: true});
        img.addEventListener("error", done, {once: true});
    })));
}"""

BROKEN_IMAGES = """() => Array.from(document.images)
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => (img.getAttribute("src") || "(no src)").slice(0, 80))"""

# What the maths looks like after MathJax: typeset elements, TeX errors, and
# any TeX left as text outside code, scripts and typeset output.
MATH_REPORT = r"""() => {
    const sources = document.querySelectorAll(".math, .tex2jax_process .math");
    const typeset = document.querySelectorAll("mjx-container");
    const errors = Array.from(document.querySelectorAll("mjx-merror"))
        .map(e => e.textContent.slice(0, 80));
    const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const raw = [];
    const pattern = /\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\s][^$]*\$|\\begin\{/;
    while (walker.nextNode()) {
        const node = walker.currentNode;
        if (node.parentElement && node.parentElement.closest(skip)) continue;
        if (pattern.test(node.textContent)) raw.push(node.textContent.trim().slice(0, 80));
    }
    return {sources: sources.length, typeset: typeset.length, errors, raw};
}"""

# Widget controls that would only work with a kernel behind them: rendered ones, and
# widget views left for a widget manager to render.
DEAD_CONTROLS = """() => Array.from(document.querySelectorAll(
    ".jupyter-widgets, .widget-slider, .widget-dropdown, .widget-button"
)).filter(e => e.offsetParent !== null).length + document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]').length"""

# Live explorers in the HTML: the note that says they run in Jupyter, with the snapshot after it.
STATIC_EXPLORERS = """() => Array.from(document.querySelectorAll(".optlib-static-note")).map(
    note => { const out = note.closest(".cell_output") || note.parentElement;
              return out.querySelectorAll("img").length; })"""

SCRUB_SELECTOR = ".optlib-scrub"

# The longest line of code the chapters may have (docs/chapters.md), and the code blocks of
# the page (cells' inputs and outputs, fenced code in the text) wider than the column.
MAX_CODE_LINE = 79
WIDE_CODE = """() => Array.from(document.querySelectorAll('article.bd-article div.highlight pre'))
    .filter(pre => pre.scrollWidth > pre.clientWidth)
    .map(pre => `${pre.scrollWidth} > ${pre.clientWidth} px: ` +
                pre.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '')
                .slice(0, 60))"""
# Whether a line of n characters fits a code cell's block: one block's text is swapped for
# it, measured, and put back.
LINE_FITS = """n => { const pre = document.querySelector('div.cell_input div.highlight pre');
    if (!pre) return null;
    const saved = pre.innerHTML;
    pre.textContent = 'x'.repeat(n);
    const fits = pre.scrollWidth <= pre.clientWidth;
    pre.innerHTML = saved;
    return fits; }"""
# The index among the page's cells of the one whose input contains the given line.
CELL_WITH = """line => Array.from(document.querySelectorAll('div.cell')).findIndex(
    cell => { const input = cell.querySelector('.cell_input');
              return !!input && input.textContent.includes(line); })"""
# A call of an exercise check in a cell: check("name", ...) or check_name(...).
_NAMES = "|".join(EXERCISES)
CHECK_CALL = re.compile(rf"\bcheck\(\s*['\"](?:{_NAMES})['\"]|\bcheck_(?:{_NAMES})\(")


@dataclass
class Visit:
    """What happened while one page was open."""

    page: str
    final_url: str = ""
    external_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    failed_responses: list = field(default_factory=list)
    maths: dict = field(default_factory=dict)
    broken_images: list = field(default_factory=list)
    image_count: int = 0
    dead_controls: int = 0
    static_explorers: list = field(default_factory=list)
    scrubs: list = field(default_factory=list)
    wide_code: list = field(default_factory=list)
    longest_line_fits: bool | None = None
    checks: list = field(default_factory=list)
    solutions: list = field(default_factory=list)


@dataclass
class CheckCell:
    """A check cell of a chapter: the text of each of its text outputs in the page."""

    call: str
    found: bool
    outputs: list = field(default_factory=list)


@dataclass
class SolutionCell:
    """A coding exercise's solution cell in the page: how it is folded, before and after a
    click on its summary."""

    first_line: str
    found: bool
    folded: bool = False
    closed: bool = False
    prompt: str = ""
    code_shown_closed: bool = True
    code_shown_open: bool = False
    prompt_open: str = ""


@dataclass
class ScrubCheck:
    """One kernel-free figure: its frame before and after the slider moved."""

    index: int
    has_slider: bool
    has_frame: bool
    before: str = ""
    after: str = ""


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    if executable is None:
        message = "no `chromium` on PATH (Debian: apt-get install chromium)"
        if running_in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def visits(browser):
    result = build_once()
    assert result.returncode == 0, f"the book did not build:\n{result.stdout}\n{result.stderr}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with serve(HTML) as base_url:
        return {page: visit(browser, base_url, page) for page in built_pages()}


def visit(browser, base_url, page_name):
    """Open one page, let it settle, and record everything the tests assert on."""
    record = Visit(page_name)
    own_host = urlsplit(base_url).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    def route(route):
        url = route.request.url
        if urlsplit(url).netloc == own_host:
            route.continue_()
        else:
            record.external_requests.append(url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.on("console", lambda msg: msg.type == "error" and record.console_errors.append(msg.text))
    page.on("pageerror", lambda error: record.console_errors.append(f"uncaught: {error}"))
    page.on("websocket", lambda ws: record.external_requests.append(ws.url))
    page.on(
        "response",
        lambda r: r.status >= 400 and record.failed_responses.append(f"{r.status} {r.url}"),
    )
    try:
        url = base_url + page_name
        page.goto(url, wait_until="load")
        if is_redirect(page_name):
            page.wait_for_url(lambda now: now != url)
        wait_for_quiet_network(page)
        record.final_url = page.url
        page.evaluate(WAIT_FOR_MATHJAX)
        page.evaluate(SETTLE_IMAGES)
        record.maths = page.evaluate(MATH_REPORT)
        record.image_count = page.evaluate("() => document.images.length")
        record.broken_images = page.evaluate(BROKEN_IMAGES)
        record.dead_controls = page.evaluate(DEAD_CONTROLS)
        record.static_explorers = page.evaluate(STATIC_EXPLORERS)
        page.screenshot(path=screenshot_path(page_name), full_page=True)
        record.scrubs = [check_scrub(page, i) for i in range(page.locator(SCRUB_SELECTOR).count())]
        record.wide_code = page.evaluate(WIDE_CODE)
        record.longest_line_fits = page.evaluate(LINE_FITS, MAX_CODE_LINE)
        notebook = (ROOT / page_name).with_suffix(".ipynb")
        if notebook.is_file():
            nb = nbformat.read(notebook, as_version=4)
            record.checks = [check_cell(page, call) for call in check_calls(nb)]
            record.solutions = [solution_cell(page, line) for line in solution_first_lines(nb)]
    finally:
        context.close()
    return record


def wait_for_quiet_network(page):
    """Give the page NETWORK_QUIET_MS to finish its requests. A page that keeps the network
    busy past that is still read: MathJax and the images are then waited for explicitly,
    and a request that failed is recorded by the response handler whichever way."""
    try:
        page.wait_for_load_state("networkidle", timeout=NETWORK_QUIET_MS)
    except PlaywrightTimeoutError:
        pass


def is_redirect(page_name):
    """Whether the page only forwards the reader elsewhere (Sphinx's index.html)."""
    return 'http-equiv="Refresh"' in (HTML / page_name).read_text(encoding="utf-8")


def check_scrub(page, index):
    """Move a kernel-free figure's slider to its far end, as a reader would with the keyboard."""
    figure = page.locator(SCRUB_SELECTOR).nth(index)
    slider = figure.locator("input[type=range]").first
    frame = figure.locator("img").first
    check = ScrubCheck(index, slider.count() == 1, frame.count() == 1)
    if not (check.has_slider and check.has_frame):
        return check
    figure.scroll_into_view_if_needed()
    check.before = frame.get_attribute("src") or ""
    slider.focus()
    page.keyboard.press("End")
    page.wait_for_timeout(100)
    check.after = frame.get_attribute("src") or ""
    return check


def check_calls(nb):
    """The line of each check cell of a notebook (the call of the check)."""
    return [line.strip() for cell in nb.cells if cell.cell_type == "code"
            for line in cell.source.split("\n") if CHECK_CALL.search(line)]


def solution_first_lines(nb):
    """A line that finds each coding exercise's solution cell: its ``def`` line, or its
    first line when it defines no function."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution") is True:
            lines = [line for line in cell.source.split("\n") if line.strip()]
            found += [next((line for line in lines if line.startswith("def ")), lines[0])]
    return found


def check_cell(page, call):
    index = page.evaluate(CELL_WITH, call)
    if index < 0:
        return CheckCell(call, found=False)
    outputs = page.locator("div.cell").nth(index).locator(".cell_output pre")
    return CheckCell(call, True, [text.strip() for text in outputs.all_text_contents()])


def solution_cell(page, first_line):
    """Find the solution cell, read how it is folded, then open it as a reader would."""
    index = page.evaluate(CELL_WITH, first_line)
    if index < 0:
        return SolutionCell(first_line, found=False)
    cell = page.locator("div.cell").nth(index)
    fold = cell.locator("details.hide.above-input")
    record = SolutionCell(first_line, found=True, folded=fold.count() == 1)
    if not record.folded:
        return record
    record.closed = fold.get_attribute("open") is None
    record.prompt = _shown_text(fold.locator("summary p.collapsed"))
    record.code_shown_closed = cell.locator(".cell_input").is_visible()
    fold.locator("summary").click()
    record.code_shown_open = cell.locator(".cell_input").is_visible()
    record.prompt_open = _shown_text(fold.locator("summary p.expanded"))
    return record


def _shown_text(locator):
    return locator.inner_text().strip() if locator.count() and locator.is_visible() else ""


def pages_with(visits, problem):
    """The pages whose record shows ``problem`` (a function of a Visit), as {page: problem}."""
    found = {page: problem(record) for page, record in visits.items()}
    return {page: what for page, what in found.items() if what}


def test_every_toc_page_was_opened(visits):
    assert {f"{f}.html" for f in toc_files()} <= set(visits)


def test_no_request_leaves_the_build(visits):
    assert pages_with(visits, lambda v: v.external_requests) == {}


def test_no_console_errors(visits):
    assert pages_with(visits, lambda v: v.console_errors) == {}


def test_every_local_resource_exists(visits):
    assert pages_with(visits, lambda v: v.failed_responses) == {}


def test_maths_is_rendered(visits):
    def problem(visit):
        maths = visit.maths
        if maths["sources"] and maths["typeset"] == 0:
            return f"{maths['sources']} formulas, none typeset"
        return maths["errors"] + maths["raw"]

    assert pages_with(visits, problem) == {}


def chapters():
    """The toc's notebooks: the chapters proper."""
    return [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


def test_redirects_land_on_a_page_of_the_book(visits):
    for page, record in visits.items():
        if is_redirect(page):
            landed = urlsplit(record.final_url).path.lstrip("/")
            assert landed in visits and not is_redirect(landed), (page, record.final_url)


def test_notation_and_chapters_have_typeset_maths(visits):
    for page in ["book/notation", *chapters()]:
        assert visits[f"{page}.html"].maths["typeset"] > 0, page


def test_every_image_loads(visits):
    assert pages_with(visits, lambda v: v.broken_images) == {}


def test_no_dead_widget_controls(visits):
    assert pages_with(visits, lambda v: v.dead_controls) == {}


def test_every_chapter_shows_its_explorer_as_a_snapshot(visits):
    """Each chapter has a live explorer; the HTML shows its note and a snapshot image."""
    assert chapters(), "no chapter notebooks in the toc"
    for chapter in chapters():
        explorers = visits[f"{chapter}.html"].static_explorers
        assert explorers, f"{chapter}: no explorer snapshot (.optlib-static-note)"
        assert all(images >= 1 for images in explorers), f"{chapter}: a note without a snapshot"


def test_kernel_free_figures_change_frame_when_slider_moves(visits):
    def problem(visit):
        return [
            f"figure {s.index}: slider={s.has_slider} frame={s.has_frame} "
            f"changed={s.before != s.after}"
            for s in visit.scrubs
            if not (s.has_slider and s.has_frame and s.before and s.before != s.after)
        ]

    assert pages_with(visits, problem) == {}


def test_every_chapter_has_a_kernel_free_figure(visits):
    assert chapters(), "no chapter notebooks in the toc"
    missing = [f for f in chapters() if not visits[f"{f}.html"].scrubs]
    assert not missing, f"chapters without a kernel-free figure ({SCRUB_SELECTOR}): {missing}"


def test_screenshot_of_every_page(visits):
    for page in visits:
        shot = screenshot_path(page)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot


def test_no_code_block_is_wider_than_the_column(visits):
    """At 1280 x 900 every code block fits the text column: no horizontal scrollbar."""
    assert pages_with(visits, lambda v: v.wide_code) == {}


def test_a_line_of_the_longest_allowed_length_fits_a_code_cell(visits):
    for chapter in chapters():
        assert visits[f"{chapter}.html"].longest_line_fits is True, (
            f"{chapter}: a {MAX_CODE_LINE}-character line does not fit a code cell")


def test_a_check_cell_shows_its_verdict_and_no_bare_true_or_false(visits):
    found = [check for chapter in chapters() for check in visits[f"{chapter}.html"].checks]
    assert found, "no check cell in any chapter"

    def problem(visit):
        return [f"{check.call}: {check.outputs if check.found else 'not found'}"
                for check in visit.checks
                if not check.found or not any(text.startswith("✓") for text in check.outputs)
                or {"True", "False"} & set(check.outputs)]

    assert pages_with(visits, problem) == {}


def test_every_coding_solution_is_folded_behind_show_solution(visits):
    """Closed by default, "Show solution" on the control, the code after one click."""
    found = [cell for chapter in chapters() for cell in visits[f"{chapter}.html"].solutions]
    assert found, "no coding exercise in any chapter"

    def problem(visit):
        return [f"{cell.first_line}: {cell}" for cell in visit.solutions
                if not (cell.found and cell.folded and cell.closed
                        and cell.prompt == "Show solution" and not cell.code_shown_closed
                        and cell.code_shown_open and cell.prompt_open == "Hide solution")]

    assert pages_with(visits, problem) == {}
