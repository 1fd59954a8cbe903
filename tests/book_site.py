"""The built book as the tests see it: building it, serving it, and a browser over it.

Shared by conftest.py (the session's one build of the book, and the one visit
of every page in page_visit.py), the tests that read them, and the tests that
build small books of their own.
"""

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
#: The book's own Sphinx extensions (_config.yml lists them).
EXTENSIONS = ROOT / "_ext"
BUILD = ROOT / "_build"
HTML = BUILD / "html"
SCREENSHOTS = BUILD / "screenshots"
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

# Every warning is an error, nitpicky mode reports broken references, and a
# fresh environment re-reads every page so that no warning hides behind
# Sphinx's incremental build. Notebook outputs still come from the cache.
BUILD_FLAGS = ("-n", "-W", "--keep-going", "--all")

# Headless Chromium on a machine with no GPU, no sandbox and no network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def kernel_env():
    """The environment of the book build, as ``make book`` sets it.

    The kernel keeps its own inline backend (the optlib tests run with
    ``MPLBACKEND=Agg``, which would hide every figure), and ``OPTLIB_STATIC=1``
    makes live explorers show a snapshot instead of controls with no kernel.
    """
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env["OPTLIB_STATIC"] = "1"
    return env


def build(source=ROOT, flags=BUILD_FLAGS):
    """Run ``jupyter-book build`` on ``source``; return the finished process."""
    command = [str(JUPYTER_BOOK), "build", str(source), *flags]
    return subprocess.run(
        command, cwd=source, env=kernel_env(), capture_output=True, text=True, check=False
    )


def book_skeleton(directory, root):
    """Make ``directory`` a book with this book's configuration (``_config.yml``, its
    Sphinx extensions in ``_ext/``, its CSS in ``_static/``, the bibliography) and a
    table of contents whose only page is ``root`` ("book/page")."""
    shutil.copy(ROOT / "_config.yml", directory / "_config.yml")
    for folder in ("_ext", "_static"):
        shutil.copytree(ROOT / folder, directory / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "book").mkdir()
    shutil.copy(BOOK / "references.bib", directory / "book" / "references.bib")
    (directory / "_toc.yml").write_text(f"format: jb-book\nroot: {root}\n")


@functools.cache
def build_once():
    """Build the book once per test session (with ``BUILD_FLAGS``)."""
    return build()


def toc_files():
    """The pages listed in ``_toc.yml``, as paths without suffix ("book/intro")."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files.extend(_entry_files(part.get("chapters", [])))
    return files


def _entry_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        yield from _entry_files(entry.get("sections", []))


def built_pages(html=HTML):
    """Every HTML page of the book built into ``html``, relative to it (themes' assets excluded)."""
    return sorted(
        path.relative_to(html).as_posix()
        for path in html.rglob("*.html")
        if not path.relative_to(html).parts[0].startswith("_")
    )


def pages_with(records, problem):
    """The pages whose record shows ``problem`` (a function of a record), as {page: problem}."""
    found = {page: problem(record) for page, record in records.items()}
    return {page: what for page, what in found.items() if what}


def is_redirect(path):
    """Whether the HTML file at ``path`` only forwards the reader on (Sphinx's index.html)."""
    return 'http-equiv="Refresh"' in path.read_text(encoding="utf-8")


def chromium():
    """The path of Debian's ``chromium`` on PATH, or None."""
    return shutil.which("chromium")


def running_in_ci():
    return os.environ.get("CI", "").lower() == "true"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port); yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def screenshot_path(page):
    """Where the full-page screenshot of ``page`` ("book/intro.html") goes: a JPEG, which
    Chromium encodes in about half the time of a PNG of a page tens of thousands of pixels
    tall."""
    return SCREENSHOTS / (page.removesuffix(".html").replace("/", "__") + ".jpg")
