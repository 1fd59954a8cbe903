"""The static book: what changes when the notebooks run for the HTML instead of for a reader.

The book build runs every chapter with the environment variable
``OPTLIB_STATIC=1`` (``make book``). The HTML it writes is static: no kernel
answers a control and nothing updates after the cell has run. So

- live explorers show a snapshot of their initial state (``optlib.widgets``);
- progress bars are off: a Jupyter progress bar is a widget, and with no
  kernel behind it the page would keep its first state, a bar frozen at 0 %.
"""

from __future__ import annotations

import os

from tqdm.auto import tqdm

__all__ = ["STATIC_ENV", "static_mode", "progress_bar"]

#: Set by the book build (``OPTLIB_STATIC=1 jupyter-book build .``).
STATIC_ENV = "OPTLIB_STATIC"


def static_mode():
    """True when ``OPTLIB_STATIC`` is set to anything but '' or '0' (the book build)."""
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


def progress_bar(iterable, show, desc):
    """``iterable`` with a progress bar when ``show`` is true, except in the static book."""
    return tqdm(iterable, disable=not show or static_mode(), desc=desc)
