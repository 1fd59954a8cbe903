"""The chapters keep the conventions of docs/chapters.md that can be read off the notebook.

Fast and static (nothing runs): every notebook in book/ is stored without
outputs; every ``hide-input`` cell (folded in the HTML) also carries
``"jupyter": {"source_hidden": true}`` so that JupyterLab collapses it too;
every coding exercise's solution cell is folded in the HTML behind "Show
solution"; and no line of code, in a code cell or in a fenced block of a
Markdown cell, is longer than 79 characters, which is what fits the HTML's text
column. The bibliography parses, and every entry has what the book's citation
style prints (author or editor, title, year), so that a build or a student
version never stops at a reference.
"""

import re
from pathlib import Path

import nbformat
import pybtex.database
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
MAX_LINE = 79
HIDE_INPUT = "hide-input"
SOLUTION_PROMPTS = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}
# The opening line of a fenced block in Markdown: code, or a MyST directive when its info
# string opens with "{" (```{exercise}, :::{note}).
_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>[^`]*)$")


def chapters():
    return sorted(BOOK.glob("*.ipynb"))


def read(chapter):
    return nbformat.read(chapter, as_version=4)


def stored_outputs(nb):
    """The code cells that hold outputs or an execution count."""
    return [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and (cell.outputs or cell.execution_count is not None)]


def hidden_in_html_only(nb):
    """The cells tagged hide-input that JupyterLab would show open."""
    return [index for index, cell in enumerate(nb.cells)
            if HIDE_INPUT in cell.metadata.get("tags", [])
            and cell.metadata.get("jupyter", {}).get("source_hidden") is not True]


def unfolded_solutions(nb):
    """The coding exercises' solution cells not folded behind "Show solution" in the HTML."""
    return [index for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code"
            and cell.metadata.get("nbgrader", {}).get("solution") is True
            and not (HIDE_INPUT in cell.metadata.get("tags", [])
                     and {key: cell.metadata.get("mystnb", {}).get(key)
                          for key in SOLUTION_PROMPTS} == SOLUTION_PROMPTS)]


def code_lines(cell):
    """The lines of code in a cell: all of a code cell, the fenced code of a Markdown cell
    (also inside a directive such as ````{exercise}; never a directive's own text)."""
    lines = cell.source.split("\n")
    if cell.cell_type == "code":
        return lines
    code, open_fences = [], []          # (fence, is code) from the outermost in
    for line in lines:
        inside_code = bool(open_fences) and open_fences[-1][1]
        if open_fences and _closes(line, open_fences[-1][0]):
            open_fences.pop()
        elif inside_code:
            code.append(line)
        elif opening := _FENCE.match(line):
            open_fences.append((opening["fence"], not opening["info"].strip().startswith("{")))
    return code


def _closes(line, fence):
    return re.fullmatch(rf"\s*{re.escape(fence[0])}{{{len(fence)},}}\s*", line) is not None


def long_lines(nb):
    """(cell, length, start of the line) for every line of code over MAX_LINE characters."""
    return [(index, len(line), line[:40]) for index, cell in enumerate(nb.cells)
            for line in code_lines(cell) if len(line) > MAX_LINE]


@pytest.fixture(params=chapters(), ids=lambda path: path.name)
def chapter(request):
    return request.param


def test_there_are_chapters():
    assert chapters()


def test_no_stored_outputs(chapter):
    assert stored_outputs(read(chapter)) == [], "clear the outputs (Edit > Clear Outputs)"


def test_every_hide_input_cell_is_collapsed_in_jupyter_too(chapter):
    assert hidden_in_html_only(read(chapter)) == [], (
        'these hide-input cells need "jupyter": {"source_hidden": true}')


def test_every_coding_solution_is_folded_behind_show_solution(chapter):
    assert unfolded_solutions(read(chapter)) == [], (
        f'these solution cells need the tag {HIDE_INPUT!r} and "mystnb": {SOLUTION_PROMPTS}')


def test_no_code_line_is_wider_than_the_column(chapter):
    assert long_lines(read(chapter)) == [], f"lines of more than {MAX_LINE} characters"


def incomplete_references():
    """(key, missing fields) for each entry of references.bib without an author or editor,
    a title or a year."""
    entries = pybtex.database.parse_file(BOOK / "references.bib").entries
    incomplete = []
    for key, entry in entries.items():
        missing = [name for name in ("title", "year") if name not in entry.fields]
        if not (entry.persons.get("author") or entry.persons.get("editor")):
            missing.append("author")
        if missing:
            incomplete.append((key, missing))
    return incomplete


def test_every_reference_has_author_title_and_year():
    assert incomplete_references() == []
