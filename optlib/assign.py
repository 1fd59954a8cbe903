"""Student versions of the book's notebooks: the instructor's notebooks stay the single source.

    python -m optlib.assign book _build/student          # every notebook under book/
    python -m optlib.assign book/gradients.ipynb out.ipynb
    python -m optlib.assign --nbgrader-source book course/source/ps1

In the student version

- code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()``, indented like the
  markers, so a function keeps its signature and docstring;
- code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is
  removed;
- MyST ``{solution}`` blocks (```{solution} ...``` or :::{solution} ...:::,
  and sphinx-exercise's ``{solution-start}`` ... ``{solution-end}`` pairs)
  are removed from markdown; a markdown solution cell (nbgrader metadata
  ``solution: true``) left empty reads "YOUR ANSWER HERE", any other cell
  left empty is dropped;
- cells tagged ``remove-in-student`` are dropped;
- outputs and execution counts are cleared; all metadata, nbgrader's
  included, is kept.

This is what nbgrader's ``generate_assignment`` does to solution regions (same
markers, same stubs, and the same refusal of a solution region in a cell
without nbgrader's solution metadata), plus the ``{solution}`` blocks that
nbgrader does not know about.

With ``--nbgrader-source`` the result is a source notebook for nbgrader
instead: code solutions and the markdown solution cells that nbgrader grades
by hand stay (nbgrader's release stubs them, its graders see them); every
other ``{solution}`` block and every ``remove-in-student`` cell goes, so that
nbgrader's release equals the student version above.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

__all__ = ["student_version", "nbgrader_source", "solution_texts", "convert", "main",
           "CODE_STUB", "TEXT_STUB", "REMOVE_TAG"]

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
REMOVE_TAG = "remove-in-student"

# The opening line of a MyST directive fence: ```{name} or :::{name}, possibly indented.
_DIRECTIVE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}")


class NotebookError(ValueError):
    """A notebook breaks the solution conventions (unmatched markers, unclosed blocks, ...)."""


# ---------------------------------------------------------------- one notebook


def student_version(nb, name="notebook"):
    """A student copy of the notebook ``nb`` (a NotebookNode); ``nb`` is left unchanged.

    Raises NotebookError, naming ``name`` and the cell, when markers are
    unmatched or nested, a ``{solution}`` block is not closed, or a solution
    region sits in a cell without nbgrader's solution metadata.
    """
    return _transform(nb, name, keep_graded_solutions=False)


def nbgrader_source(nb, name="notebook"):
    """A copy of ``nb`` for nbgrader's source folder: its release is then ``student_version(nb)``.

    Code solutions and markdown cells with nbgrader's solution metadata are
    kept for nbgrader to stub; the rest is as in ``student_version``.
    """
    return _transform(nb, name, keep_graded_solutions=True)


def _transform(nb, name, keep_graded_solutions):
    student = nbformat.from_dict(nb)
    cells = []
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if REMOVE_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        cell = nbformat.from_dict(cell)
        if cell.cell_type == "code":
            student_source = _student_code(cell, where)
            if not keep_graded_solutions:
                cell.source = student_source
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "markdown":
            student_source = _student_markdown(cell, where)
            if not (keep_graded_solutions and _is_solution_cell(cell)):
                cell.source = student_source
            if not cell.source.strip():
                continue
        cells.append(cell)
    student.cells = cells
    return student


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


def _student_code(cell, where):
    lines = cell.source.split("\n")
    lines = _replace_regions(lines, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, [], where)
    replaced = _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where)
    _require_solution_metadata(cell, replaced, where)
    if replaced:
        return "\n".join(_replace_regions(lines, BEGIN_SOLUTION, END_SOLUTION,
                                          CODE_STUB.split("\n"), where))
    if _is_solution_cell(cell):
        return CODE_STUB
    return "\n".join(lines)


def _student_markdown(cell, where):
    lines = cell.source.split("\n")
    replaced = _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where)
    _require_solution_metadata(cell, replaced, where)
    lines = _replace_regions(lines, BEGIN_SOLUTION, END_SOLUTION, [TEXT_STUB], where)
    removed = _solution_blocks(lines, where)
    for start, end in reversed(removed):
        del lines[start:end + 1]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    if _is_solution_cell(cell) and not text.strip():
        return TEXT_STUB
    if _is_solution_cell(cell) and not replaced and not removed:
        return TEXT_STUB
    return text


def _is_solution_cell(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _require_solution_metadata(cell, regions, where):
    if regions and not _is_solution_cell(cell):
        raise NotebookError(
            f"{where}: a solution region in a cell without nbgrader metadata "
            '{"solution": true}; see EXERCISES_CONVENTION.md'
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


# ---------------------------------------------------------------- files and the command line


def convert(source, destination, for_nbgrader=False):
    """Write student versions of ``source`` (a notebook or a folder of them) to ``destination``.

    A folder is walked recursively (skipping checkpoints and build folders)
    and mirrored into ``destination``. With ``for_nbgrader``, write
    ``nbgrader_source`` versions instead. Returns the list of (source,
    destination, number of solutions in the source).
    """
    transform = nbgrader_source if for_nbgrader else student_version
    source, destination = Path(source), Path(destination)
    if not source.exists():
        raise FileNotFoundError(f"source {source} does not exist")
    if source.is_file():
        if destination.suffix != ".ipynb":
            destination = destination / source.name
        pairs = [(source, destination)]
    else:
        if destination.resolve() == source.resolve() or source.resolve() in \
                destination.resolve().parents:
            raise ValueError(f"destination {destination} must lie outside the source {source}")
        pairs = [(path, destination / path.relative_to(source))
                 for path in sorted(source.rglob("*.ipynb")) if not _skipped(path, source)]
    written = []
    for path, target in pairs:
        nb = nbformat.read(path, as_version=4)
        student = transform(nb, name=str(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student, target)
        written.append((path, target, len(solution_texts(nb, name=str(path)))))
    return written


def _skipped(path, root):
    parts = path.relative_to(root).parts
    return any(part.startswith((".", "_build")) for part in parts)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m optlib.assign",
        description="Write student versions of instructor notebooks: solutions replaced by "
                    "stubs, {solution} blocks removed, outputs cleared.",
    )
    parser.add_argument("source", help="a notebook, or a folder of notebooks")
    parser.add_argument("destination", help="a notebook path, or a folder to mirror into")
    parser.add_argument("--nbgrader-source", action="store_true",
                        help="write source notebooks for nbgrader's generate_assignment: "
                             "graded solutions kept, other {solution} blocks removed")
    args = parser.parse_args(argv)
    try:
        written = convert(args.source, args.destination, for_nbgrader=args.nbgrader_source)
    except (NotebookError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path, target, solutions in written:
        done = "for nbgrader" if args.nbgrader_source else "removed"
        print(f"{path} -> {target}  ({solutions} solutions, {done})")
    if not written:
        print(f"no notebooks under {args.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
