"""Solutions in an instructor's notebook: nbgrader's markers, MyST {solution} blocks, stubs.

In a student version

- code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()``, indented like the
  markers, so a function keeps its signature and docstring;
- code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is
  removed;
- MyST ``{solution}`` blocks (```{solution} ...``` or :::{solution} ...:::,
  and sphinx-exercise's ``{solution-start}`` ... ``{solution-end}`` pairs)
  are removed from Markdown; a Markdown solution cell (nbgrader metadata
  ``solution: true``) left empty reads "YOUR ANSWER HERE".

This is what nbgrader's ``generate_assignment`` does to solution regions (same
markers, same stubs, and the same refusal of a solution region in a cell
without nbgrader's solution metadata), plus the ``{solution}`` blocks that
nbgrader does not know about.
"""

from __future__ import annotations

import re

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"

# The opening line of a MyST directive fence: ```{name} or :::{name}, possibly indented.
_DIRECTIVE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}")


class NotebookError(ValueError):
    """A notebook breaks the solution conventions (unmatched markers, unclosed blocks, ...)."""


# ---------------------------------------------------------------- one cell


def solution_texts(nb, name="notebook"):
    """The content of every solution in ``nb``: each marked code region, each {solution} block.

    Each is returned as it stands in the notebook, markers and fences
    excluded, without blank lines at its ends.
    """
    texts = []
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        lines = cell.source.split("\n")
        if cell.cell_type == "code" or BEGIN_SOLUTION in cell.source:
            for start, end in _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where):
                texts.append("\n".join(lines[start + 1:end]))
        if cell.cell_type == "markdown":
            for start, end in _solution_blocks(lines, where):
                texts.append("\n".join(_block_body(lines[start:end + 1])))
    return [text.strip("\n") for text in texts if text.strip()]


def student_code(cell, where):
    """The code cell's source with its solution regions stubbed and hidden tests removed."""
    lines = cell.source.split("\n")
    lines = _replace_regions(lines, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, [], where)
    replaced = _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where)
    _require_solution_metadata(cell, replaced, where)
    if replaced:
        return "\n".join(_replace_regions(lines, BEGIN_SOLUTION, END_SOLUTION,
                                          CODE_STUB.split("\n"), where))
    if is_solution_cell(cell):
        return CODE_STUB
    return "\n".join(lines)


def student_markdown(cell, where):
    """The Markdown cell's source without its solutions (MyST still; "YOUR ANSWER HERE" for
    a graded answer cell left empty)."""
    lines = cell.source.split("\n")
    replaced = _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where)
    _require_solution_metadata(cell, replaced, where)
    lines = _replace_regions(lines, BEGIN_SOLUTION, END_SOLUTION, [TEXT_STUB], where)
    removed = _solution_blocks(lines, where)
    for start, end in reversed(removed):
        del lines[start:end + 1]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    if is_solution_cell(cell) and not text.strip():
        return TEXT_STUB
    if is_solution_cell(cell) and not replaced and not removed:
        return TEXT_STUB
    return text


def is_solution_cell(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _require_solution_metadata(cell, regions, where):
    if regions and not is_solution_cell(cell):
        raise NotebookError(
            f"{where}: a solution region in a cell without nbgrader metadata "
            '{"solution": true}; see docs/exercises.md'
        )


# ---------------------------------------------------------------- marked regions


def _regions(lines, begin, end, where):
    """(start, stop) line indices of each region between a ``begin`` and an ``end`` marker line.

    A marker is any line that contains the marker text, as nbgrader reads them.
    """
    regions, start = [], None
    for index, line in enumerate(lines):
        if begin in line:
            if start is not None:
                raise NotebookError(f"{where}: nested '{begin}' markers (line {index + 1})")
            start = index
        elif end in line:
            if start is None:
                raise NotebookError(f"{where}: '{end}' without '{begin}' (line {index + 1})")
            regions.append((start, index))
            start = None
    if start is not None:
        raise NotebookError(f"{where}: '{begin}' without '{end}' (line {start + 1})")
    return regions


def _replace_regions(lines, begin, end, stub, where):
    """``lines`` with each marked region, markers included, replaced by ``stub``, indented alike."""
    out, previous = [], 0
    for start, stop in _regions(lines, begin, end, where):
        indent = re.match(r"\s*", lines[start]).group(0)
        out += lines[previous:start] + [indent + line for line in stub]
        previous = stop + 1
    return out + lines[previous:]


# ---------------------------------------------------------------- {solution} blocks


def _solution_blocks(lines, where):
    """(first, last) line indices of each {solution} block, fences included.

    A block opened by ``fence{solution}`` closes at the first line made of the
    same fence character, at least as long, and nothing else (CommonMark's
    rule, so inner directives with shorter fences stay inside). A
    ``{solution-start}`` block runs to the closing fence of the next
    ``{solution-end}`` block.
    """
    blocks, index = [], 0
    while index < len(lines):
        opening = _DIRECTIVE.match(lines[index])
        name = opening["name"] if opening else None
        if name == "solution":
            last = _closing_fence(lines, index, opening["fence"], where)
        elif name == "solution-start":
            end = next((i for i in range(index + 1, len(lines))
                        if (m := _DIRECTIVE.match(lines[i])) and m["name"] == "solution-end"),
                       None)
            if end is None:
                raise NotebookError(f"{where}: {{solution-start}} without {{solution-end}} "
                                    f"(line {index + 1})")
            last = _closing_fence(lines, end, _DIRECTIVE.match(lines[end])["fence"], where)
        else:
            index += 1
            continue
        blocks.append((index, last))
        index = last + 1
    return blocks


def _closing_fence(lines, opening, fence, where):
    closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for index in range(opening + 1, len(lines)):
        if closing.match(lines[index]):
            return index
    raise NotebookError(f"{where}: the block opened with {fence} on line {opening + 1} "
                        "is never closed")


def _block_body(lines):
    """A directive's content: the lines between its fences, without its :option: lines."""
    body = lines[1:-1]
    while body and re.match(r"^\s*:[\w-]+:", body[0]):
        body = body[1:]
    return body
