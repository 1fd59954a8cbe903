"""A chapter in JupyterLab, as ``make lab`` opens it: MyST rendered, claim cells folded.

The server runs the very command ``make lab`` runs (read from ``make -n lab``:
the repository root served, root allowed, the project's settings overrides),
on a free loopback port with temporary Jupyter config, data, runtime and
settings directories; headless Chromium opens one chapter and reads what it
shows. The server is always shut down. Without ``chromium`` on PATH the test
skips, except under CI=true.
"""

import contextlib
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from book_site import ROOT, chromium, running_in_ci

pytestmark = pytest.mark.book

CHAPTER = "book/gradient_descent.ipynb"
RAW_MYST = (":label:", "{prf:", "{eq}", "{exercise}", "{cite}", "{solution}")
START_TIMEOUT_S = 120
PORT_ATTEMPTS = 5
RENDER_TIMEOUT_MS = 120_000
SETTLE_MS = 3000   # what the page shows must stay the same this long
POLL_MS = 1000     # not every frame: reading the page that often slows its rendering
# Lab's own browser flags for a machine with no GPU, no sandbox and no network.
LAB_BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run"]

# The open notebook's cells, each as what it shows: its rendered Markdown's text, or for a
# code cell whether its source is on screen and whether the "collapsed input" bar is.
CELLS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')).map(cell => {
    const visible = selector => {
        const element = cell.querySelector(selector);
        return !!element && element.offsetParent !== null && element.offsetHeight > 0;
    };
    return {
        markdown: cell.classList.contains('jp-MarkdownCell'),
        rendered: cell.classList.contains('jp-mod-rendered'),
        text: cell.classList.contains('jp-MarkdownCell') ?
            (cell.querySelector('.jp-RenderedMarkdown, .jp-MarkdownOutput') || cell).innerText
            : '',
        sourceShown: visible('.jp-InputArea-editor'),
        placeholderShown: visible('.jp-InputPlaceholder'),
    };
})"""


def lab_command():
    """The command ``make lab`` runs, as an argument list (run from the repository root)."""
    dry_run = subprocess.run(["make", "--no-print-directory", "-n", "lab"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    line = next(line for line in dry_run.splitlines() if re.search(r"\bjupyter lab\b", line))
    return shlex.split(line)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def lab_server(tmp_path):
    """``make lab``'s server on a free port with scratch Jupyter directories; yields its URL
    and token. Every cell is kept in the page (no windowing), for the test to read them all."""
    token = secrets.token_hex(16)
    dirs = {name: tmp_path / name for name in ("config", "data", "runtime", "settings",
                                                "workspaces")}
    tracker = dirs["settings"] / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(dirs["config"]),
           "JUPYTER_DATA_DIR": str(dirs["data"]), "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
           "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
           "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"])}
    log = tmp_path / "lab.log"
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        command = [*lab_command(), "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={token}"]
        with log.open("w") as output:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                      stderr=subprocess.STDOUT)
        try:
            if _wait_until_up(server, f"http://127.0.0.1:{port}/api/status?token={token}", log):
                yield f"http://127.0.0.1:{port}", token
                return
        finally:
            _shut_down(server)
    pytest.fail(f"no free port for make lab's server in {PORT_ATTEMPTS} tries")


def _wait_until_up(server, url, log):
    """True once the server answers; False if another process took its port first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            if "is not available" in log.read_text():
                return False
            pytest.fail(f"make lab's server stopped (exit {server.returncode}):\n"
                        f"{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=2).close()
            return True
        time.sleep(0.5)
    pytest.fail(f"make lab's server did not answer within {START_TIMEOUT_S} s:\n"
                f"{log.read_text()[-3000:]}")


def _shut_down(server):
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=LAB_BROWSER_ARGS)
        yield browser
        browser.close()


def open_in_lab(browser, base, token, notebook, cell_count):
    """Open ``notebook`` in Lab and wait until every cell is there and its Markdown rendered
    (and the text no longer changes); return what each cell shows."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(RENDER_TIMEOUT_MS)
    page.goto(f"{base}/lab/tree/{notebook}?token={token}&reset")
    page.wait_for_function(
        """count => document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length === count""",
        arg=cell_count, polling=POLL_MS)
    # A Markdown cell is marked rendered before the MyST renderer has filled it in.
    page.wait_for_function("""() => Array.from(document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell')).every(
        cell => cell.classList.contains('jp-mod-rendered') && cell.innerText.trim() !== '')""",
        polling=POLL_MS)
    shown, previous = page.evaluate(CELLS), None
    while shown != previous:
        page.wait_for_timeout(SETTLE_MS)
        previous, shown = shown, page.evaluate(CELLS)
    news_prompts = page.locator("text=get notified about official Jupyter news").count()
    page.close()
    return shown, news_prompts


def test_a_chapter_renders_its_myst_and_folds_its_claim_cells(tmp_path, browser):
    nb = nbformat.read(ROOT / CHAPTER, as_version=4)
    with lab_server(tmp_path) as (base, token):
        shown, news_prompts = open_in_lab(browser, base, token, CHAPTER, len(nb.cells))
    assert news_prompts == 0, "JupyterLab's news prompt covers the page"
    text = "\n".join(cell["text"] for cell in shown if cell["markdown"])
    raw = {pattern: text.count(pattern) for pattern in RAW_MYST if pattern in text}
    assert not raw, f"raw MyST shown in Lab: {raw}"
    titles = re.findall(r"^`{3,}\{exercise\} (.+)$", "\n".join(
        cell.source for cell in nb.cells if cell.cell_type == "markdown"), re.MULTILINE)
    assert titles
    for title in titles:
        plain = re.sub(r"\$[^$]*\$", "", title).strip()
        assert re.search(rf"Exercise\s+\d+\s*\(\s*{re.escape(plain[:20])}", text), title
    hidden = [index for index, cell in enumerate(nb.cells)
              if "hide-input" in cell.metadata.get("tags", []) and cell.cell_type == "code"]
    assert hidden, f"{CHAPTER} has no hide-input cell"
    for index in hidden:
        assert not shown[index]["sourceShown"] and shown[index]["placeholderShown"], (
            f"{CHAPTER}, cell {index} (hide-input) shows its source in Lab: it needs the "
            '"jupyter": {"source_hidden": true} metadata')


def test_make_lab_serves_book_and_student_from_the_repository_root():
    command = lab_command()
    assert f"--ServerApp.root_dir={ROOT}" in command
    assert "--ServerApp.allow_root=True" in command
    settings_flag = next(arg for arg in command if arg.startswith("--LabApp.app_settings_dir="))
    overrides = Path(settings_flag.partition("=")[2]) / "overrides.json"
    notification = json.loads(overrides.read_text())["@jupyterlab/apputils-extension:notification"]
    assert notification["fetchNews"] == "false" and notification["checkForUpdates"] is False
