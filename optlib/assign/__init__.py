"""Student versions of the book's notebooks: the instructor's notebooks stay the single source.

    python -m optlib.assign book student                 # every notebook under book/
    python -m optlib.assign book/gradient_descent.ipynb out.ipynb
    python -m optlib.assign --nbgrader-source book course/source/ps1

A student version has its solutions stubbed or removed (``solutions``: code
between nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers
becomes ``raise NotImplementedError()``, MyST ``{solution}`` blocks go), the
cells tagged ``remove-in-student`` dropped, outputs cleared, and its Markdown
rewritten from MyST into portable Markdown (``myst``: exercises as numbered
headings, theorems and proofs as labelled paragraphs, equation references as
numbers, citations as author-year text) numbered as the HTML numbers it
(``book``), so that it reads the same in JupyterLab, a JupyterHub, Colab or
VS Code. The instructor's notebooks keep their MyST.

With ``--nbgrader-source`` the result is a source notebook for nbgrader
instead: code solutions and the Markdown solution cells that nbgrader grades
by hand stay (nbgrader's release stubs them, its graders see them); every
other ``{solution}`` block and every ``remove-in-student`` cell goes, so that
nbgrader's release equals the student version.

The command never overwrites a notebook that differs from what it would write
there (a student's answers): it lists them and writes nothing, unless given
``--force``.
"""

from .book import BookIndex, Target
from .command import WouldOverwrite, convert, main
from .myst import Converter
from .solutions import CODE_STUB, TEXT_STUB, NotebookError, solution_texts
from .versions import REMOVE_TAG, nbgrader_source, student_version

__all__ = ["student_version", "nbgrader_source", "solution_texts", "convert", "main",
           "BookIndex", "Target", "Converter", "NotebookError", "WouldOverwrite",
           "CODE_STUB", "TEXT_STUB", "REMOVE_TAG"]
