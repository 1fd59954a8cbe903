"""One notebook's student version, and its source version for nbgrader."""

from __future__ import annotations

import nbformat

from .book import BookIndex
from .myst import Converter
from .solutions import is_solution_cell, student_code, student_markdown

#: Cells with this tag are for instructors only: the student version drops them.
REMOVE_TAG = "remove-in-student"
#: How the instructor's notebook folds a solution cell (the HTML and JupyterLab): the tag,
#: the mystnb prompts ("Show solution") and Jupyter's source_hidden.
FOLD_TAG, FOLD_PROMPTS = "hide-input", ("code_prompt_show", "code_prompt_hide")


def student_version(nb, name="notebook", book=None):
    """A student copy of the notebook ``nb`` (a NotebookNode); ``nb`` is left unchanged.

    Solutions are stubbed or removed (``solutions``), cells tagged
    ``remove-in-student`` dropped, outputs and execution counts cleared, all
    metadata kept (nbgrader's included) except what folds a solution cell (a
    stub must be in view), and the Markdown made portable
    (``myst``): numbered as the HTML numbers it when ``book`` is the
    ``BookIndex`` of the book ``nb`` is in (``name`` is then its path).

    Raises NotebookError, naming ``name`` and the cell, when markers are
    unmatched or nested, a ``{solution}`` block is not closed, a solution
    region sits in a cell without nbgrader's solution metadata, or the
    Markdown uses MyST with no portable form.
    """
    return _transform(nb, name, book, keep_graded_solutions=False)


def nbgrader_source(nb, name="notebook", book=None):
    """A copy of ``nb`` for nbgrader's source folder: its release is then ``student_version(nb)``.

    Code solutions and Markdown cells with nbgrader's solution metadata are
    kept for nbgrader to stub (and its graders to read); the rest is as in
    ``student_version``.
    """
    return _transform(nb, name, book, keep_graded_solutions=True)


def _transform(nb, name, book, keep_graded_solutions):
    book = book if book is not None else BookIndex()
    docname = book.docname(name)
    book.ensure(docname, nb)
    converter = Converter(book, docname, book.documents[docname].number)
    cells = []
    for index, original in enumerate(nb.cells):
        converter.where = where = f"{name}, cell {index}"
        removed = REMOVE_TAG in original.get("metadata", {}).get("tags", [])
        cell = nbformat.from_dict(original)
        if cell.cell_type == "code":
            caption = converter.figure_caption(cell.metadata)
            student_source = student_code(cell, where)
            if not keep_graded_solutions:
                cell.source = student_source
            cell.outputs, cell.execution_count = [], None
            if is_solution_cell(cell):
                _unfold(cell.metadata)
            if not removed:
                cells += [cell, *_caption_cell(cell, caption)]
        elif cell.cell_type == "markdown":
            student_source = student_markdown(cell, where)
            keep = keep_graded_solutions and is_solution_cell(cell)
            cell.source = converter.markdown(cell.source if keep or removed
                                             else student_source)
            if not removed and cell.source.strip():
                cells.append(cell)
        elif not removed:
            cells.append(cell)
    student = nbformat.from_dict(nb)
    student.cells = cells
    return student


def _unfold(metadata):
    """Remove what folds a solution cell: the hide-input tag, the mystnb prompts and
    source_hidden (empty containers go too)."""
    if FOLD_TAG in metadata.get("tags", []):
        metadata["tags"] = [tag for tag in metadata["tags"] if tag != FOLD_TAG]
    for container, keys in (("mystnb", FOLD_PROMPTS), ("jupyter", ("source_hidden",))):
        for key in keys:
            metadata.get(container, {}).pop(key, None)
    for container in ("tags", "mystnb", "jupyter"):
        if container in metadata and not metadata[container]:
            del metadata[container]


def _caption_cell(cell, caption):
    """The Markdown cell showing a figure's number and caption under the figure (none if no
    caption): in Jupyter the caption in the cell's metadata is not shown."""
    if not caption:
        return []
    new = nbformat.v4.new_markdown_cell(caption)
    if "id" in cell:
        new.id = f"{cell.id}-caption"[-64:]
    else:
        del new["id"]
    return [new]
