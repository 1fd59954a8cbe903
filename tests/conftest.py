"""Fixtures of the tests that read the built book: its one build and one visit of its pages.

``make test`` runs the ``book`` tests on two pytest-xdist workers with ``--dist
loadgroup``. Every test that reads the built book asks for ``built_book`` (directly or
through ``visits``), and so runs in one group, on one worker: the book is built once,
into one ``_build/html``, and the tests that build books of their own or execute
student versions run beside it on the other worker.
"""

import os
import shutil

import pytest
from accessibility_audit import chromium_browser
from book_site import BUILD, HTML, SCREENSHOTS, build_once
from page_visit import visit_site

#: The pytest-xdist group of the tests that read the built book.
BUILT_BOOK_GROUP = "built-book"


def pytest_ignore_collect(collection_path, config):
    """Under ``-m book`` (make test's book stage), leave out the test files whose text never
    says ``mark.book``, the one way this suite marks a test ``book`` (collection checks it,
    below, whatever the ``-m``): every test in them
    would be deselected, after importing torch and all else they need (collection takes
    3 s instead of 12 in each worker)."""
    book_stage = config.getoption("markexpr") == "book"
    test_file = collection_path.suffix == ".py" and collection_path.name.startswith("test_")
    if book_stage and test_file and "mark.book" not in collection_path.read_text():
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Put every test that reads the built book in BUILT_BOOK_GROUP (before pytest-xdist
    reads the groups)."""
    for item in items:
        if "built_book" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(BUILT_BOOK_GROUP))
    unseen = sorted({str(item.path) for item in items if item.get_closest_marker("book")
                     and "mark.book" not in item.path.read_text()})
    if unseen:
        raise pytest.UsageError("book tests in files that never say `mark.book`, which the "
                                f"book stage would not collect (pytest_ignore_collect): {unseen}")


@pytest.fixture(scope="session")
def built_book():
    """The ``-n -W`` build of the book (book_site.BUILD_FLAGS), once per session."""
    claim = claim_the_built_book()
    result = build_once()
    assert result.returncode == 0, f"jupyter-book build failed:\n{result.stdout}\n{result.stderr}"
    yield result
    if claim is not None:
        claim.unlink(missing_ok=True)


def claim_the_built_book():
    """Under pytest-xdist, note which worker of this run builds the book, and fail if a
    second one asks for it: BUILT_BOOK_GROUP did not hold, and two workers would build
    into one ``_build/html`` while the other reads it. (pytest 9.2 with pytest-xdist 3.8
    ignores the groups: pytest-dev/pytest-xdist#1386.) Returns the claim's file, or None
    outside pytest-xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return None
    BUILD.mkdir(exist_ok=True)
    claim = BUILD / f".built-book-{os.environ['PYTEST_XDIST_TESTRUNUID']}"
    try:
        with open(claim, "x") as file:
            file.write(worker)
    except FileExistsError:
        pytest.fail(f"worker {worker} needs the built book, which worker {claim.read_text()} "
                    f"builds: the xdist group {BUILT_BOOK_GROUP!r} did not hold (run with "
                    "--dist loadgroup, and a pytest that pytest-xdist groups with)")
    return claim


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, offline (skips without a ``chromium`` on PATH; fails under CI).
    One per module: a Playwright left running would stop the next module from starting
    one of its own (test_lab.py starts Chromium with JupyterLab's flags)."""
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="session")
def visits(built_book):
    """Every built page, visited once: {page: page_visit.Visit}. The screenshots of an
    earlier run are removed first, so that the folder shows this build's pages only."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return visit_site(HTML)
