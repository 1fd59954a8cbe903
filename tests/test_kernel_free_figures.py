"""Kernel-free figures as a screen reader and a keyboard meet them, in Chromium and in
JupyterLab (marker ``book``: they open a browser)."""

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from accessibility_audit import AXE_ALL, axe_violations, offline_page
from book_site import ROOT, kernel_env
from matplotlib.figure import Figure
from playwright.sync_api import Error as PlaywrightError

from optlib import widgets

pytestmark = pytest.mark.book

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


# ---------------------------------------------------------------- in Chromium


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


def test_second_slider_picks_the_frame_of_the_grid(scrub_page):
    figure = scrub_page.locator(".optlib-scrub").nth(1)
    figure.locator("input[type=range]").nth(1).focus()
    scrub_page.keyboard.press("ArrowRight")
    assert figure.locator("img").get_attribute("alt") == (
        "Frame for step size η = 1, momentum β = 0.9")
    assert figure.locator("input[type=range]").nth(1).get_attribute("aria-valuetext") == "0.9"


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


def test_moving_the_slider_by_hand_stops_playing(figure):
    figure.locator("button").click()
    figure.page.clock.run_for(2 * 50 + 10)
    figure.locator("input[type=range]").focus()
    figure.page.keyboard.press("ArrowLeft")
    stopped = state(figure)
    assert stopped["pressed"] == "false" and stopped["index"] == 1
    figure.page.clock.run_for(500)
    assert state(figure) == stopped


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


