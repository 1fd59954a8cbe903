"""Accessibility: figures readable without colour, kernel-free figures usable by keyboard
and screen reader, and every built page clean under axe-core with described images.

The colour tests run with the library's tests. The others open Chromium (marker
``book``): the kernel-free figure on a page of its own, then every page of the
built book, audited by axe-core (WCAG 2.0 and 2.1, levels A and AA). Each audit
is written to _build/accessibility/axe.json, every violation included; the test
fails on the serious and critical ones.
"""

import contextlib
import itertools
import json
import os
import re
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import matplotlib
import nbformat
import numpy as np
import pytest
from book_site import (
    BUILD,
    CHROMIUM_ARGS,
    EXTENSIONS,
    HTML,
    ROOT,
    build,
    build_once,
    built_pages,
    chromium,
    is_redirect,
    kernel_env,
    running_in_ci,
    serve,
)
from colorspacious import cspace_convert, deltaE
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from playwright.sync_api import Error as PlaywrightError

import optlib as ol
from optlib import plotting, widgets

# ---------------------------------------------------------------- colour

#: The three dichromacies, simulated at full severity with the matrices of
#: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for
#: simulation of color vision deficiency", IEEE TVCG 15(6), as colorspacious
#: implements them (in linear sRGB).
DICHROMACIES = ("protanomaly", "deuteranomaly", "tritanomaly")

#: The smallest colour difference two palette colours may have, in CAM02-UCS
#: units (Luo, Cui & Li 2006), as a reader with each dichromacy sees them.
#: About one unit is a just-noticeable difference between large patches; lines
#: and markers are small, and discrimination falls with the size of a mark
#: (Stone, Szafir & Setlur 2014), so the floor is ten times that. It separates
#: palettes that fail from ones that pass: matplotlib's first seven tab10
#: colours have pairs 1.6 apart for a protanope (orange, green), 5.2 for a
#: deuteranope (green, red) and 9.4 for a tritanope (orange, pink).
MIN_DELTA_E = 10.0


def as_seen_with(colors, dichromacy):
    """The sRGB colours (values in [0, 1]) a reader with ``dichromacy`` sees."""
    rgb = np.array([to_rgb(color) for color in colors])
    if dichromacy is None:
        return rgb
    space = {"name": "sRGB1+CVD", "cvd_type": dichromacy, "severity": 100}
    return np.clip(cspace_convert(rgb, space, "sRGB1"), 0.0, 1.0)


def closest_pair(colors, dichromacy):
    """(distance, colour, colour): the two colours of ``colors`` that look most alike."""
    seen = as_seen_with(colors, dichromacy)
    return min(
        (float(deltaE(seen[i], seen[j], input_space="sRGB1", uniform_space="CAM02-UCS")),
         colors[i], colors[j])
        for i, j in itertools.combinations(range(len(colors)), 2)
    )


@pytest.mark.parametrize("dichromacy", [None, *DICHROMACIES])
def test_house_palette_stays_distinguishable(dichromacy):
    distance, first, second = closest_pair(plotting.PALETTE, dichromacy)
    assert distance >= MIN_DELTA_E, f"{first} and {second} are {distance:.1f} apart"


@pytest.mark.parametrize("dichromacy", DICHROMACIES)
def test_the_palette_check_catches_a_palette_that_confuses(dichromacy):
    tab10 = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors[:7]]
    assert closest_pair(tab10, dichromacy)[0] < MIN_DELTA_E


def dash_pattern(line):
    """A line's dash pattern (offset, on-off lengths) as set, before scaling by its width.

    matplotlib has no public getter: ``get_linestyle`` says "--" for every
    custom pattern.
    """
    offset, dashes = line._unscaled_dash_pattern
    return offset, tuple(dashes) if dashes else None


def looks(lines):
    """How each line looks apart from its colour: (dash pattern, marker)."""
    return [(dash_pattern(line), line.get_marker()) for line in lines]


def test_house_style_pairs_every_colour_with_its_own_line_style():
    cycle = list(plotting.HOUSE_STYLE["axes.prop_cycle"])
    assert [entry["color"] for entry in cycle] == list(plotting.PALETTE)
    assert [entry["linestyle"] for entry in cycle] == list(plotting.LINESTYLES)
    with matplotlib.rc_context(plotting.HOUSE_STYLE):
        ax = Figure().subplots()
        lines = [ax.plot([0, 1], [0, k])[0] for k in range(len(plotting.PALETTE))]
    assert [line.get_color() for line in lines] == list(plotting.PALETTE)
    assert len(set(looks(lines))) == len(lines), looks(lines)


def test_runs_in_one_panel_differ_by_more_than_colour():
    f = ol.functions.rosenbrock()
    runs = {name: ol.minimize(f, [-1.2, 1.0], method, steps=20)
            for name, method in [("GD", ol.sgd(1e-3)), ("momentum", ol.sgd(1e-3, momentum=0.9)),
                                 ("Adam", ol.adam(0.05)), ("RMSProp", ol.rmsprop(0.01))]}
    left, right = Figure().subplots(1, 2)
    paths = plotting.trajectories(f, runs, ax=left, contours=False)
    losses = plotting.loss_curves(runs, ax=right, f_star=f)
    for lines in (paths, losses):
        assert len(set(looks(lines.values()))) == len(runs), looks(lines.values())
    assert looks(paths.values())[0] != looks(paths.values())[1]
    assert [line.get_color() for line in losses.values()] == list(plotting.PALETTE[:len(runs)])


# ---------------------------------------------------------------- the book's Sphinx extension

CITING_PAGE = """Citing
======

Two works [Cauchy1847]_ [Armijo1966]_.

.. [Cauchy1847] A.-L. Cauchy. Méthode générale. 1847.
.. [Armijo1966] L. Armijo. Minimization of functions. 1966.
"""


class _Roles(HTMLParser):
    """The role of each citation list and of each of its children, in document order."""

    def __init__(self):
        super().__init__()
        self.lists, self.depth, self.open = [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div":
            if self.open and self.depth == self.open[-1] + 1:
                self.lists[-1]["children"].append(attrs.get("role"))
            if "citation-list" in (attrs.get("class") or "").split():
                self.lists.append({"role": attrs.get("role"), "children": []})
                self.open.append(self.depth)
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "div":
            self.depth -= 1
            if self.open and self.depth == self.open[-1]:
                self.open.pop()


def citation_roles(tmp_path, extensions):
    """Build a one-page Sphinx project that cites two works; the roles of its citation lists."""
    from sphinx.application import Sphinx

    source = tmp_path / "source"
    source.mkdir()
    (source / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXTENSIONS)!r})\n"
                                    f"extensions = {extensions!r}\nhtml_theme = 'basic'\n")
    (source / "index.rst").write_text(CITING_PAGE)
    app = Sphinx(source, source, tmp_path / "html", tmp_path / "doctrees", "html",
                 status=None, warning=None, freshenv=True)
    app.build()
    roles = _Roles()
    roles.feed((tmp_path / "html" / "index.html").read_text(encoding="utf-8"))
    return roles.lists


def test_the_bibliography_is_a_list_of_list_items(tmp_path):
    assert citation_roles(tmp_path, ["optlib_a11y"]) == [
        {"role": "list", "children": ["listitem", "listitem"]}]


def test_without_the_extension_docutils_writes_the_deprecated_role(tmp_path):
    """When docutils stops writing doc-biblioentry, _ext/optlib_a11y.py can go."""
    assert citation_roles(tmp_path, []) == [
        {"role": "list", "children": ["doc-biblioentry", "doc-biblioentry"]}]


# ---------------------------------------------------------------- Chromium and axe-core

#: The axe-core rules that test WCAG 2.0 and 2.1 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_WCAG = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
#: The same plus axe's best practices (landmarks, heading order, ...).
AXE_ALL = {"runOnly": {"type": "tag", "values": [*WCAG_TAGS, "best-practice"]},
           "resultTypes": ["violations"]}
FAILING_IMPACTS = {"serious", "critical"}
#: A chapter page takes seconds to load and typeset on two busy cores; allow a minute.
PAGE_TIMEOUT_MS = 60_000
#: JupyterLab starts, loads and runs a kernel within two minutes on two busy cores.
LAB_TIMEOUT_MS = 120_000
#: Whether the open notebook's kernel has started and waits for work.
KERNEL_IDLE = """() => {
    const kernel = window.jupyterapp && jupyterapp.shell.currentWidget
        && jupyterapp.shell.currentWidget.sessionContext.session
        && jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    return Boolean(kernel) && kernel.status === "idle";
}"""
#: Which cell of the open notebook is the active one.
ACTIVE_CELL_INDEX = """() => Array.from(document.querySelectorAll(".jp-Notebook .jp-Cell"))
    .findIndex(cell => cell.classList.contains("jp-mod-active"))"""
AXE_REPORT = BUILD / "accessibility" / "axe.json"


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


def offline_page(browser, allowed_host=None):
    """A new page in its own context whose requests to any other host are refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    context.route("**/*", lambda route: route.continue_()
                  if allowed_host and urlsplit(route.request.url).netloc == allowed_host
                  else route.abort())
    return context.new_page()


def axe_violations(page, options):
    """axe-core's violations on the open page, each as (rule, impact, nodes, help)."""
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(page, options=options).response
    return [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [" ".join(map(str, node["target"])) for node in v["nodes"]]}
        for v in response["violations"]
    ]


def failing(violations):
    return [v for v in violations if v["impact"] in FAILING_IMPACTS]


# ---------------------------------------------------------------- kernel-free figures


def render_value(value, *more):
    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1], [0, value + sum(more)])
    return fig


VALUES = [0.5, 1.0, 2.0, 4.0]
ALT = "A line whose slope grows with the step size."


@pytest.fixture(scope="module")
def scrub_html():
    """A page with a one-slider and a two-slider kernel-free figure, nothing else."""
    one = widgets.scrub(render_value, VALUES, label="step size η", alt=ALT, interval=50)
    two = widgets.scrub2(render_value, [1, 2], [0.0, 0.9], labels=("step size η", "momentum β"),
                         alt="Two sliders pick the frame.")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Kernel-free figures</title></head><body><main><h1>Figures</h1>"
            f"{one.html()}{two.html()}</main></body></html>")


#: The address the page of kernel-free figures is served at, from the test itself.
FIGURES_URL = "http://figures.test/"


@pytest.fixture(scope="module")
def figures_tab(browser, scrub_html):
    """A tab that is served the page of kernel-free figures and refuses any other request."""
    context = browser.new_context(service_workers="block")
    context.route("**/*", lambda route: route.fulfill(body=scrub_html, content_type="text/html")
                  if route.request.url == FIGURES_URL else route.abort())
    page = context.new_page()
    page.clock.install()
    yield page
    context.close()


@pytest.fixture
def scrub_page(figures_tab):
    """The page of kernel-free figures, freshly loaded (first frames, stopped), with its
    clock paused: play's timer steps only when a test moves the clock."""
    figures_tab.goto(FIGURES_URL)
    figures_tab.clock.pause_at(figures_tab.evaluate("Date.now()") / 1000 + 1)  # seconds
    return figures_tab


@pytest.fixture
def figure(scrub_page):
    """The page's first figure."""
    return scrub_page.locator(".optlib-scrub").first


def state(figure):
    """What a screen reader can read from the figure now, and the frame it shows."""
    slider = figure.locator("input[type=range]").first
    image = figure.locator("img")
    return {
        "index": int(slider.input_value()),
        "valuetext": slider.get_attribute("aria-valuetext"),
        "alt": image.get_attribute("alt"),
        "src": image.get_attribute("src"),
        "pressed": figure.locator("button").get_attribute("aria-pressed"),
        "status": figure.locator("[role=status]").text_content(),
    }


@pytest.mark.book
def test_kernel_free_figure_is_a_named_figure_with_named_controls(figure):
    assert figure.aria_snapshot() == (
        f'- figure "{ALT}":\n'
        '  - img "Frame for step size η = 0.5"\n'
        '  - button "Play": ▶\n'
        "  - text: step size η\n"
        '  - slider "step size η": "0"\n'
        "  - status"
    )
    assert figure.locator("input[type=range]").get_attribute("aria-valuetext") == "0.5"


@pytest.mark.book
def test_tab_reaches_every_control_in_reading_order(scrub_page):
    expected = []
    for fig in scrub_page.locator(".optlib-scrub").all():
        expected += [("BUTTON", "Play")] + [("INPUT", label) for label in
                                            fig.locator("label").all_text_contents()]
    reached = []
    for _ in expected:
        scrub_page.keyboard.press("Tab")
        reached.append(scrub_page.evaluate(
            """() => { const e = document.activeElement;
                       return [e.tagName, e.labels && e.labels.length ? e.labels[0].textContent
                                                   : e.getAttribute("aria-label")]; }"""))
    assert [tuple(r) for r in reached] == expected
    assert len(expected) == 5


@pytest.mark.book
def test_arrow_keys_move_the_slider_and_everything_follows(figure):
    page = figure.page
    first = state(figure)
    figure.locator("input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    moved = state(figure)
    assert moved["index"] == 1 and moved["valuetext"] == "1"
    assert moved["alt"] == "Frame for step size η = 1" and moved["src"] != first["src"]
    assert figure.locator(".optlib-scrub-value").text_content() == "1"
    page.keyboard.press("End")
    assert state(figure)["valuetext"] == "4" and state(figure)["alt"].endswith("= 4")
    page.keyboard.press("Home")
    assert state(figure) == first
    # The slider says its own value; the status line stays quiet, so nothing is read twice.
    assert first["status"] == moved["status"] == ""


@pytest.mark.book
def test_second_slider_picks_the_frame_of_the_grid(scrub_page):
    figure = scrub_page.locator(".optlib-scrub").nth(1)
    figure.locator("input[type=range]").nth(1).focus()
    scrub_page.keyboard.press("ArrowRight")
    assert figure.locator("img").get_attribute("alt") == (
        "Frame for step size η = 1, momentum β = 0.9")
    assert figure.locator("input[type=range]").nth(1).get_attribute("aria-valuetext") == "0.9"


@pytest.mark.book
def test_play_is_a_toggle_button_and_pausing_says_where(figure):
    page = figure.page
    button = figure.locator("button")
    button.focus()
    page.keyboard.press("Space")
    assert state(figure)["pressed"] == "true"
    page.clock.run_for(3 * 50 + 10)  # three steps of the 50 ms interval
    playing = state(figure)
    assert playing["index"] == 3 and playing["valuetext"] == "4" and playing["status"] == ""
    page.clock.run_for(50)  # play goes round to the first frame
    page.keyboard.press("Space")
    paused = state(figure)
    assert paused["pressed"] == "false" and paused["index"] == 0
    assert paused["status"] == "Paused at step size η = 0.5"
    assert paused["alt"] == "Frame for step size η = 0.5"
    page.clock.run_for(500)
    assert state(figure) == paused


@pytest.mark.book
def test_moving_the_slider_by_hand_stops_playing(figure):
    figure.locator("button").click()
    figure.page.clock.run_for(2 * 50 + 10)
    figure.locator("input[type=range]").focus()
    figure.page.keyboard.press("ArrowLeft")
    stopped = state(figure)
    assert stopped["pressed"] == "false" and stopped["index"] == 1
    figure.page.clock.run_for(500)
    assert state(figure) == stopped


@pytest.mark.book
def test_kernel_free_figures_pass_axe_with_best_practices(scrub_page):
    scrub_page.clock.resume()  # axe-core waits on timers of its own
    assert axe_violations(scrub_page, AXE_ALL) == []


# ---------------------------------------------------------------- JupyterLab

LAB_NOTEBOOK_CELL = """import optlib as ol
from matplotlib.figure import Figure
from playwright.sync_api import Error as PlaywrightError

def render(value):
    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1], [0, value])
    return fig

ol.widgets.scrub(render, [0.5, 1.0, 2.0, 4.0], label="step size η", alt="A line.")"""


@contextlib.contextmanager
def jupyterlab(root_dir):
    """A JupyterLab server on a free local port, serving ``root_dir``; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = kernel_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
               "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               "--IdentityProvider.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={root_dir}", "--LabApp.news_url=",
               "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.book
def test_jupyterlab_leaves_the_arrow_keys_to_the_slider(browser, tmp_path):
    """In a notebook, arrows move the slider; without data-lm-suppress-shortcuts Lab
    would take them to move between cells."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LAB_NOTEBOOK_CELL),
                                               nbformat.v4.new_code_cell("1 + 1")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "scrub.ipynb")
    with jupyterlab(tmp_path) as base_url:
        page = offline_page(browser, allowed_host=urlsplit(base_url).netloc)
        page.set_default_timeout(LAB_TIMEOUT_MS)
        try:
            for _ in range(LAB_TIMEOUT_MS // 1000):
                try:
                    page.goto(base_url + "lab/tree/scrub.ipynb")
                    break
                except PlaywrightError:  # the server is still starting
                    page.wait_for_timeout(1000)
            page.wait_for_function(KERNEL_IDLE)
            # Not awaited: the command's promise may settle only once the kernel is idle.
            page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")
            figure = page.locator(".optlib-scrub")
            slider = figure.locator("input[type=range]")
            figure.locator("button").focus()
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.type") == "range"
            active_cell = ACTIVE_CELL_INDEX
            cell = page.evaluate(active_cell)
            for key, value in [("ArrowRight", "1"), ("ArrowUp", "2"), ("ArrowDown", "1"),
                               ("End", "3"), ("Home", "0")]:
                page.keyboard.press(key)
                assert (slider.input_value(), page.evaluate(active_cell)) == (value, cell), key
            assert figure.locator("img").get_attribute("alt") == "Frame for step size η = 0.5"
            page.evaluate("() => document.querySelector('.optlib-scrub input[type=range]')"
                          ".removeAttribute('data-lm-suppress-shortcuts')")
            slider.focus()
            page.keyboard.press("ArrowDown")
            assert (slider.input_value(), page.evaluate(active_cell)) == ("0", cell + 1)
        finally:
            page.context.close()


# ---------------------------------------------------------------- the built book

# Wait for MathJax, so that axe sees the typeset maths a reader gets.
WAIT_FOR_MATHJAX = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
}"""

# Every image as a screen reader gets it, and every kernel-free figure's name.
IMAGES = """() => Array.from(document.images).map(img => ({
    alt: img.getAttribute("alt"), src: (img.getAttribute("src") || "").slice(0, 60)}))"""
FIGURE_NAMES = """() => Array.from(document.querySelectorAll(".optlib-scrub"))
    .map(figure => figure.getAttribute("aria-label"))"""

#: Alt text that only names a file: what Sphinx and myst-nb write when a figure has none.
FILE_PATH = re.compile(r"(_images/|\.(png|jpe?g|gif|svg|webp)\s*$)", re.IGNORECASE)
#: The name a kernel-free figure gets when its chapter gave it no ``alt``.
DEFAULT_FIGURE_NAME = "A figure with a slider: "


def audit_site(browser, html_dir):
    """Open every page of the site in ``html_dir`` and audit it: {page: record}.

    A record has axe-core's WCAG violations, the images (alt, src) and the
    kernel-free figures' names. Pages that only redirect are left out (the page
    they lead to is audited).
    """
    with serve(html_dir) as base_url:
        return {
            page: audit_page(browser, base_url + page)
            for page in built_pages(html_dir)
            if not is_redirect(html_dir / page)
        }


def audit_page(browser, url):
    page = offline_page(browser, allowed_host=urlsplit(url).netloc)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(url, wait_until="load")
        page.evaluate(WAIT_FOR_MATHJAX)
        return {
            "violations": axe_violations(page, AXE_WCAG),
            "images": page.evaluate(IMAGES),
            "figures": page.evaluate(FIGURE_NAMES),
        }
    finally:
        page.context.close()


def bad_alt(alt):
    """What is wrong with an image's alt text, or None."""
    if alt is None:
        return "no alt attribute"
    if not alt.strip():
        return "empty alt text"
    if FILE_PATH.search(alt):
        return f"alt text is a file path: {alt[:60]}"
    return None


def undescribed_images(record):
    return [f"{problem} (src {image['src']})" for image in record["images"]
            if (problem := bad_alt(image["alt"]))]


def unnamed_figures(record):
    return [name for name in record["figures"] if not name or name.startswith(DEFAULT_FIGURE_NAME)]


def pages_with(audits, problem):
    found = {page: problem(record) for page, record in audits.items()}
    return {page: what for page, what in found.items() if what}


@pytest.fixture(scope="module")
def audits(browser):
    result = build_once()
    assert result.returncode == 0, f"the book did not build:\n{result.stdout}\n{result.stderr}"
    audits = audit_site(browser, HTML)
    AXE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    AXE_REPORT.write_text(json.dumps(
        {page: record["violations"] for page, record in audits.items()}, indent=1,
        ensure_ascii=False))
    return audits


def summary(audits):
    """Violations counted by (rule, impact) over all pages: the report printed on failure."""
    counts = {}
    for record in audits.values():
        for v in record["violations"]:
            counts[v["rule"], v["impact"]] = counts.get((v["rule"], v["impact"]), 0) + len(
                v["nodes"])
    return counts


@pytest.mark.book
def test_every_page_passes_axe_core(audits):
    """No serious or critical WCAG 2.1 A/AA violation on any page (all are in AXE_REPORT)."""
    assert audits, "no pages audited"
    problems = pages_with(audits, lambda record: failing(record["violations"]))
    assert problems == {}, f"all violations by (rule, impact): {summary(audits)}"


@pytest.mark.book
def test_every_image_is_described(audits):
    assert pages_with(audits, undescribed_images) == {}


@pytest.mark.book
def test_every_kernel_free_figure_is_described(audits):
    assert pages_with(audits, unnamed_figures) == {}


# ---------------------------------------------------------------- the checks, on a small book

FIGURE_CELL = """import matplotlib.pyplot as plt
plt.plot([0, 1], [1, 0])
plt.show()"""
SCRUB_CELL = """import optlib as ol
from matplotlib.figure import Figure

def render(value):
    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1], [0, value])
    return fig

ol.widgets.scrub(render, [1, 2], label="slope", alt="A line that steepens.")"""
SMALL_BOOK_CONFIG = """title: Figures
only_build_toc_files: true
execute:
  execute_notebooks: force
sphinx:
  config:
    nb_ipywidgets_js: {}
    html_context:
      default_mode: light
"""


@pytest.mark.book
def test_the_image_checks_tell_described_figures_from_undescribed_ones(browser, tmp_path):
    """A notebook with a described figure, an undescribed one and a kernel-free figure,
    built as a book: the checks flag exactly the undescribed figure."""
    described = nbformat.v4.new_code_cell(FIGURE_CELL)
    described.metadata["mystnb"] = {"image": {"alt": "A line falling from 1 to 0."}}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Figures"), described,
        nbformat.v4.new_code_cell(FIGURE_CELL), nbformat.v4.new_code_cell(SCRUB_CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "figures.ipynb")
    (tmp_path / "_config.yml").write_text(SMALL_BOOK_CONFIG)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: figures\n")
    result = build(tmp_path, flags=("--keep-going",))
    assert result.returncode == 0, result.stdout + result.stderr

    record = audit_site(browser, tmp_path / "_build" / "html")["figures.html"]
    alts = [image["alt"] for image in record["images"]]
    assert alts[0] == "A line falling from 1 to 0." and alts[2] == "Frame for slope = 1"
    (problem,) = undescribed_images(record)
    assert problem.startswith("alt text is a file path: ") and "_images/" in problem
    assert record["figures"] == ["A line that steepens."] and unnamed_figures(record) == []
