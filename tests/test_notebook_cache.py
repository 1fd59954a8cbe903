"""tests/notebook_cache.py: a notebook that nbval ran is in the book's jupyter-cache as
nbclient would have executed it, the book build takes it from there, and a notebook
with a failing cell is not stored."""

import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from book_site import BOOK, ROOT, build, kernel_env
from jupyter_cache import get_cache
from jupyter_cache.executors.utils import single_nb_execution

pytestmark = pytest.mark.book

# What each kind of output looks like to the book: streams, an expression's value, a cell
# silenced by ';', a display updated in place, clear_output, a figure, a widget, an empty cell.
CELLS = [
    "import sys\nprint('out')\nprint('err', file=sys.stderr)\n1 + 1",
    "",
    "from IPython.display import HTML, clear_output, display\n"
    "handle = display(HTML('<b>first</b>'), display_id=True)\n"
    "handle.update(HTML('<b>second</b>'))",
    "print('gone')\nclear_output(wait=True)\nprint('kept')",
    "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]);",
    "import ipywidgets\nipywidgets.IntSlider(value=3)",
    "x = 2\nx",
]
MODEL_ID = re.compile(r"[0-9a-f]{32}")


def write_notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A page")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return path


def run_nbval(notebook, cache):
    command = [sys.executable, "-m", "pytest", "-p", "tests.notebook_cache",
               f"--book-cache={cache}", "--nbval-lax", "-p", "no:cacheprovider", "-q",
               str(notebook)]
    return subprocess.run(command, cwd=ROOT, env=kernel_env(), capture_output=True, text=True,
                          check=False)


def comparable(value):
    """JSON text with widget model ids (random per run) replaced by one placeholder."""
    return MODEL_ID.sub("MODEL", json.dumps(value, sort_keys=True))


def widget_models(nb):
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return sorted(comparable(model) for model in state.get("state", {}).values())


def test_the_cache_holds_what_nbclient_would_have_made(tmp_path, monkeypatch):
    for name in set(kernel_env()) | set(os.environ):  # both kernels run as the build's does
        if name in kernel_env():
            monkeypatch.setenv(name, kernel_env()[name])
        else:
            monkeypatch.delenv(name)
    notebook = write_notebook(tmp_path / "page.ipynb", CELLS)
    cache = tmp_path / "cache"
    ran = run_nbval(notebook, cache)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    source = nbformat.read(notebook, as_version=4)
    record = get_cache(str(cache)).match_cache_notebook(source)
    cached = get_cache(str(cache)).get_cache_bundle(record.pk).nb
    executed = single_nb_execution(source, cwd=str(tmp_path), timeout=120, allow_errors=False)
    assert executed.err is None, executed.exc_string

    expected = [cell for cell in executed.nb.cells if cell.cell_type == "code"]
    assert len(cached.cells) == len(expected)
    for ours, theirs in zip(cached.cells, expected, strict=True):
        assert ours.execution_count == theirs.execution_count, theirs.source
        assert comparable(ours.outputs) == comparable(theirs.outputs), theirs.source
    assert widget_models(cached) == widget_models(executed.nb) != []
    assert cached.metadata["language_info"] == executed.nb.metadata["language_info"]


def test_the_build_uses_the_cached_notebook_and_skips_a_failed_one(tmp_path):
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "book").mkdir()
    shutil.copy(BOOK / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/page\n")
    notebook = write_notebook(tmp_path / "book" / "page.ipynb", ["print('from nbval')"])
    broken = write_notebook(tmp_path / "broken.ipynb", ["x = 1", "raise RuntimeError('no')"])
    cache = tmp_path / "_build" / ".jupyter_cache"  # where _config.yml has the build look

    assert run_nbval(broken, cache).returncode != 0
    assert run_nbval(notebook, cache).returncode == 0
    stored = {record.uri for record in get_cache(str(cache)).list_cache_records()}
    assert stored == {str(notebook)}

    result = build(tmp_path, flags=("-n", "-W"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Using cached notebook" in result.stdout
    assert "Executing notebook" not in result.stdout
