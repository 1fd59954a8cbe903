"""One visit of every built page in headless Chromium, offline, as a reader meets it.

Each page is opened once and what happened is recorded in a ``Visit``: the
requests it made, console errors, the maths, the images, the explorers, axe-core's
accessibility audit, the kernel-free figures before and after their slider moved,
the code blocks' widths, the check cells' verdicts and the solutions' folds. The
tests in test_browser.py and test_accessibility.py assert on these records (the
``visits`` fixture in conftest.py), and a full-page screenshot of each page is left
under _build/screenshots/.
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nbformat
from accessibility_audit import WAIT_FOR_MATHJAX, audit_open_page, chromium_browser
from book_site import ROOT, built_pages, is_redirect, screenshot_path, serve
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from optlib.exercises import EXERCISES

# How long one page may take to load and settle. A page loads in about a second on a
# quiet machine; a shared runner under load has been measured past 30 s. The limit only
# decides how long a broken page takes to be reported, never whether a page passes.
PAGE_TIMEOUT_MS = 120_000
# How long to wait for a page's network to fall quiet (no request for 0.5 s) before reading
# it anyway; see wait_for_quiet_network.
NETWORK_QUIET_MS = 15_000

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
    #: axe-core's audit of the page as loaded (accessibility_audit.audit_open_page);
    #: None for a page that only redirects, whose target is audited instead.
    audit: dict | None = None


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


def visit_site(html, threads=2):
    """Visit every page built into ``html``: {page: Visit}, in the order of the pages' names.

    ``threads`` Chromiums (each with a Playwright of its own, as Playwright requires of
    threads) share the pages, the largest first; a page's checks run in its own browser
    context, so that pages visited side by side cannot affect each other.
    """
    pending = sorted(built_pages(html), key=lambda page: -(html / page).stat().st_size)
    lock = threading.Lock()

    def next_page():
        with lock:
            return pending.pop(0) if pending else None

    def visit_pages(base_url):
        records = {}
        with chromium_browser() as browser:
            while (page := next_page()) is not None:
                records[page] = visit(browser, base_url, page, html)
        return records

    with serve(html) as base_url, ThreadPoolExecutor(threads) as pool:
        shares = [pool.submit(visit_pages, base_url) for _ in range(threads)]
        records = {page: record for share in shares for page, record in share.result().items()}
    return dict(sorted(records.items()))


def visit(browser, base_url, page_name, html):
    """Open one page, let it settle, audit it with axe-core, then record everything the
    tests assert on: first what the page shows as loaded, then what the reader's actions
    (moving sliders, opening solutions) change."""
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

    # axe-core fetches the page's style sheets itself, and resolves an @import in one
    # against the page's address instead of the sheet's (the theme's "../basic.css"
    # becomes /basic.css): what fails while axe runs is axe's, not the page's.
    auditing = threading.Event()

    def page_error(text):
        if not auditing.is_set():
            record.console_errors.append(text)

    def response(r):
        if r.status >= 400 and not auditing.is_set():
            record.failed_responses.append(f"{r.status} {r.url}")

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.on("console", lambda msg: msg.type == "error" and page_error(msg.text))
    page.on("pageerror", lambda error: page_error(f"uncaught: {error}"))
    page.on("websocket", lambda ws: record.external_requests.append(ws.url))
    page.on("response", response)
    try:
        url = base_url + page_name
        page.goto(url, wait_until="load")
        redirect = is_redirect(html / page_name)
        if redirect:
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
        if not redirect:
            auditing.set()
            record.audit = audit_open_page(page)
            auditing.clear()
        page.screenshot(path=screenshot_path(page_name), full_page=True, type="jpeg", quality=80)
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

