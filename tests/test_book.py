"""The book builds with ``-n -W`` (no warning at all), from sources kept clean.

The build itself runs once per session (the ``built_book`` fixture, conftest.py);
the browser tests in test_browser.py reuse it.
"""

import re
from pathlib import Path

import nbformat
import pytest
from book_site import (
    BOOK,
    BUILD_FLAGS,
    HTML,
    ROOT,
    book_skeleton,
    build,
    built_pages,
    toc_files,
)

pytestmark = pytest.mark.book

# Any URL a page would fetch from another host: scripts, styles, images, fonts.
EXTERNAL_RESOURCE = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)
CHECKED_OUTPUT_MARK = "# NBVAL_CHECK_OUTPUT"
# How Sphinx reports a problem ("file.md:12: WARNING: ..."); a kernel's own log lines
# ("[IPKernelApp] WARNING | ...") are not Sphinx warnings.
SPHINX_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL|SEVERE):")


def notebooks():
    return sorted(BOOK.glob("*.ipynb"))


def test_build_has_no_warnings(built_book):
    log = built_book.stdout + built_book.stderr
    warnings = [line for line in log.splitlines() if SPHINX_PROBLEM.search(line)]
    assert not warnings, "the -n -W build reported:\n" + "\n".join(warnings)
    assert (HTML / "index.html").is_file()


def test_every_toc_entry_is_built(built_book):
    missing = [f for f in toc_files() if not (HTML / f"{f}.html").is_file()]
    assert not missing, f"listed in _toc.yml but not built: {missing}"


def test_every_page_in_book_is_in_the_toc():
    listed = set(toc_files())
    sources = {
        path.relative_to(ROOT).with_suffix("").as_posix()
        for path in BOOK.iterdir()
        if path.suffix in {".md", ".ipynb"}
    }
    assert sources - listed == set(), "pages in book/ that _toc.yml does not list"
    assert listed - sources == set(), "_toc.yml lists pages that book/ does not have"


@pytest.mark.parametrize("notebook", notebooks(), ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    stored = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (cell.outputs or cell.execution_count is not None)
        and not cell.source.lstrip().startswith(CHECKED_OUTPUT_MARK)
    ]
    assert not stored, f"{notebook.name}: code cells {stored} carry outputs; strip them"


def test_pages_load_nothing_from_another_host(built_book):
    offenders = {}
    for page in built_pages():
        text = (HTML / page).read_text(encoding="utf-8")
        found = [m.group(0) for m in EXTERNAL_RESOURCE.finditer(text)]
        if found:
            offenders[page] = found
    assert not offenders, f"pages that fetch from another host: {offenders}"


def test_mathjax_is_served_from_the_build(built_book):
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file()
    intro = (HTML / "book" / "intro.html").read_text(encoding="utf-8")
    assert re.search(r'<script[^>]*src="\.\./_static/mathjax/tex-chtml\.js(\?[^"]*)?"', intro)


def test_unchanged_rebuild_executes_nothing(built_book):
    """Every page read again (``--all``) with the book's configuration executes no notebook:
    each comes from the execution cache. Reading is where notebooks are executed, so the
    rebuild uses Sphinx's dummy builder, which reads every page and writes nothing."""
    again = build(flags=(*BUILD_FLAGS, "--builder", "custom", "--custom-builder", "dummy"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Executing notebook" not in again.stdout, "an unchanged notebook was executed again"
    chapters = [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]
    assert again.stdout.count("Using cached notebook") == len(chapters)


def test_a_cell_error_fails_the_build(tmp_path):
    """The book's own configuration turns an exception in any cell into a failed build."""
    book_skeleton(tmp_path, "book/broken")
    broken = nbformat.v4.new_notebook()
    broken.cells = [
        nbformat.v4.new_markdown_cell("# Broken"),
        nbformat.v4.new_code_cell("raise RuntimeError('this cell fails')"),
    ]
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(broken, Path(tmp_path / "book" / "broken.ipynb"))

    result = build(tmp_path, flags=("-n", "-W"))

    assert result.returncode != 0
    assert "this cell fails" in result.stdout + result.stderr
