"""A pytest plugin: what nbval executes, the book build reuses.

``jupyter-book build`` (myst-nb, ``execute_notebooks: cache``) looks each
notebook up in ``_build/.jupyter_cache`` by a hash of its code cells and its
kernelspec, and executes it only when the hash is not there. ``make test``
executes every notebook with nbval first; with ``--book-cache=DIR`` this plugin
stores each notebook that nbval ran top to bottom, every cell passing, into
the jupyter-cache in DIR, so that the build that follows executes nothing.

The outputs are made from the kernel's own messages by nbclient, the executor
that myst-nb runs, with its rules for displays, display updates,
``clear_output`` and widget state: the cached notebook is what the build would
have made by executing the notebook itself. Cells run with history, as in
Jupyter and nbclient (nbval alone runs them without). nbval's checks are
untouched: a cell that fails still fails the run, and its notebook is not stored.

Both executions must run the notebook the same way: ``make test`` runs nbval
with ``OPTLIB_STATIC=1`` and the kernel's own matplotlib backend, as the build
does (see tests/book_site.py, ``kernel_env``). Load it with
``python -m pytest -p tests.notebook_cache --book-cache=DIR --nbval-lax ...``;
it works under pytest-xdist (``--dist loadfile``), one notebook per worker at a time.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import os
import time
from pathlib import Path
from queue import Empty

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbval.plugin import IPyNbCell

# nbclient leaves cells with this tag unexecuted; nbval runs them, so the two disagree.
SKIPPED_BY_THE_BUILD = "skip-execution"
KERNEL_INFO_TIMEOUT_S = 10


def pytest_addoption(parser):
    parser.getgroup("nbval").addoption(
        "--book-cache", metavar="DIR", default=None,
        help="store every notebook that passes in the jupyter-cache in DIR (the book's "
             "_build/.jupyter_cache), so that jupyter-book build need not execute it again",
    )


def pytest_configure(config):
    directory = config.getoption("book_cache")
    if directory:
        config.pluginmanager.register(BookCache(Path(directory)), "book-cache")


class BookCache:
    """Follows every nbval cell and stores each notebook whose cells all passed."""

    def __init__(self, directory):
        self.directory = directory.resolve()
        self.recordings = {}  # nbval's IPyNbFile -> Recording

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        if not isinstance(item, IPyNbCell):
            return (yield)
        if item.parent not in self.recordings:
            self.recordings[item.parent] = Recording(item.parent)
        try:
            result = yield
        except BaseException:
            self._cell_finished(item, passed=False)
            raise
        self._cell_finished(item, passed=True)
        return result

    def _cell_finished(self, item, passed):
        recording = self.recordings[item.parent]
        recording.cell_finished(item, passed)
        if recording.complete():
            store(self.directory, Path(str(item.parent.fspath)), recording.executed())
        if recording.finished():
            del self.recordings[item.parent]


class Recording:
    """One notebook as nbval runs it: the kernel's messages turned into outputs, cell by cell."""

    def __init__(self, notebook):
        self.kernel = notebook.kernel
        self.nb = copy.deepcopy(notebook.nb)  # nbval's own copy keeps the stored outputs
        self.cells = notebook.nb.cells
        self.code_cells = sum(cell.cell_type == "code" for cell in self.nb.cells)
        self.passed = self.failed = 0
        self.started = time.perf_counter()
        self.client = NotebookClient(self.nb, record_timing=False)  # as jupyter-cache runs it
        self.client.reset_execution_trackers()
        self.messages, self.requests = [], []
        self._follow(self.kernel)

    def _follow(self, kernel):
        """Record every IOPub message nbval reads and the id of every cell it executes."""
        get_message = kernel.get_message

        def recording_get_message(stream, timeout=None):
            msg = get_message(stream, timeout=timeout)
            if stream == "iopub":
                self.messages.append(msg)
            return msg

        def recording_execute(cell_input, allow_stdin=None):
            # With history, as Jupyter and nbclient run a cell: without it, IPython's
            # display hook looks for a closing ';' in the previous cell and shows the
            # value of an expression that the cell's own ';' silences.
            msg_id = kernel.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin,
                                       stop_on_error=False)
            self.requests.append(msg_id)
            return msg_id

        kernel.get_message = recording_get_message
        kernel.execute_cell_input = recording_execute

    def cell_finished(self, item, passed):
        """Give the cell the outputs nbclient would have given it, from its messages."""
        messages, self.messages = self.messages, []
        requests, self.requests = self.requests, []
        index = next(i for i, cell in enumerate(self.cells) if cell is item.cell)
        cell = self.nb.cells[index]
        if not passed or len(requests) != 1 or SKIPPED_BY_THE_BUILD in cell.metadata.get(
                "tags", []):
            self.failed += 1
            return
        cell.outputs = []
        self.client.clear_before_next_output = False
        for msg in messages:
            if msg["parent_header"].get("msg_id") == requests[0]:
                with contextlib.suppress(CellExecutionComplete):
                    self.client.process_message(msg, cell, index)
        self.passed += 1

    def complete(self):
        return self.failed == 0 and self.passed == self.code_cells

    def finished(self):
        return self.passed + self.failed == self.code_cells

    def executed(self):
        """The notebook as nbclient would leave it: execution counts (nbclient skips empty
        cells, which nbval sends to the kernel), language_info, widget state."""
        count = 0
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            if not cell.source.strip():  # nbclient does not send an empty cell to the kernel
                cell.execution_count = None
                continue
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    output.execution_count = count
        language_info = kernel_language_info(self.kernel)
        if language_info is not None:
            self.nb.metadata["language_info"] = language_info
        self.client.set_widgets_metadata()
        return self.nb, time.perf_counter() - self.started


def kernel_language_info(kernel):
    """The kernel's language_info, which nbclient writes into the notebook's metadata."""
    msg_id = kernel.kc.kernel_info()
    try:
        while True:
            reply = kernel.kc.get_shell_msg(timeout=KERNEL_INFO_TIMEOUT_S)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"].get("language_info")
    except Empty:
        return None


def store(directory, path, executed):
    """Put the executed notebook into the jupyter-cache in ``directory``, keyed as myst-nb
    keys it (jupyter-cache's hash of the code cells and kernelspec), replacing what is there."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb, seconds = executed
    with locked(directory):
        cache = get_cache(str(directory))
        bundle = CacheBundleIn(nb, str(path.resolve()), data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)


@contextlib.contextmanager
def locked(directory):
    """Hold an exclusive lock on ``directory`` (pytest-xdist workers share one cache)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
