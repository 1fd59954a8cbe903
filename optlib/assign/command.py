"""Writing student versions to disk: ``python -m optlib.assign`` (``make student``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from .book import BookIndex
from .solutions import NotebookError, solution_texts
from .versions import nbgrader_source, student_version


class WouldOverwrite(Exception):
    """Notebooks at the destination differ from what would be written: a student's work?"""

    def __init__(self, paths):
        self.paths = paths
        super().__init__(", ".join(map(str, paths)))


def convert(source, destination, for_nbgrader=False, force=False):
    """Write student versions of ``source`` (a notebook or a folder of them) to ``destination``.

    A folder is walked recursively (skipping checkpoints and build folders)
    and mirrored into ``destination``. The book around ``source`` (the nearest
    folder above it with a ``_toc.yml``) gives the chapter numbers and the
    bibliography; outside a book, each notebook is numbered on its own. With
    ``for_nbgrader``, write ``nbgrader_source`` versions instead.

    Nothing is written if a notebook at the destination differs from what
    would be written there (it may hold a student's answers): WouldOverwrite
    lists them, unless ``force``. Returns the list of (source, destination,
    number of solutions in the source, 'written' or 'unchanged').
    """
    transform = nbgrader_source if for_nbgrader else student_version
    pairs = _pairs(Path(source), Path(destination))
    root = BookIndex.find_root(source)
    book = BookIndex.of_book(root) if root is not None else None   # None: each on its own
    planned = []
    for path, target in pairs:
        nb = nbformat.read(path, as_version=4)
        text = nbformat.writes(transform(nb, name=str(path), book=book)).rstrip("\n") + "\n"
        solutions = len(solution_texts(nb, name=str(path)))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        planned.append((path, target, solutions, text, current))
    differing = [target for _, target, _, text, current in planned
                 if current is not None and current != text]
    if differing and not force:
        raise WouldOverwrite(differing)
    done = []
    for path, target, solutions, text, current in planned:
        if current != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        done.append((path, target, solutions, "unchanged" if current == text else "written"))
    return done


def _pairs(source, destination):
    if not source.exists():
        raise FileNotFoundError(f"source {source} does not exist")
    if source.is_file():
        if destination.suffix != ".ipynb":
            destination = destination / source.name
        return [(source, destination)]
    if destination.resolve() == source.resolve() or source.resolve() in \
            destination.resolve().parents:
        raise ValueError(f"destination {destination} must lie outside the source {source}")
    return [(path, destination / path.relative_to(source))
            for path in sorted(source.rglob("*.ipynb")) if not _skipped(path, source)]


def _skipped(path, root):
    parts = path.relative_to(root).parts
    return any(part.startswith((".", "_build")) for part in parts)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m optlib.assign",
        description="Write student versions of instructor notebooks: solutions replaced by "
                    "stubs, {solution} blocks removed, outputs cleared, Markdown that any "
                    "Jupyter front-end renders.",
    )
    parser.add_argument("source", help="a notebook, or a folder of notebooks")
    parser.add_argument("destination", help="a notebook path, or a folder to mirror into")
    parser.add_argument("--nbgrader-source", action="store_true",
                        help="write source notebooks for nbgrader's generate_assignment: "
                             "graded solutions kept, other {solution} blocks removed")
    parser.add_argument("--force", action="store_true",
                        help="overwrite notebooks at the destination that differ from what "
                             "would be written (a student's answers are lost)")
    args = parser.parse_args(argv)
    try:
        done = convert(args.source, args.destination, for_nbgrader=args.nbgrader_source,
                       force=args.force)
    except WouldOverwrite as refusal:
        listed = "\n".join(f"  {path}" for path in refusal.paths)
        print(f"error: nothing was written. These notebooks differ from the version that "
              f"would be written there; they may hold a student's answers:\n{listed}\n"
              "Move them away first, write elsewhere (python -m optlib.assign "
              f"{args.source} OTHER_FOLDER), or overwrite them with --force "
              "(make student FORCE=1).", file=sys.stderr)
        return 1
    except (NotebookError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path, target, solutions, status in done:
        what = "for nbgrader" if args.nbgrader_source else "removed"
        print(f"{path} -> {target}  ({solutions} solutions, {what}; {status})")
    if not done:
        print(f"no notebooks under {args.source}")
    return 0
