"""The book as the student versions cite it: chapter numbers, labels, titles, references.

The HTML numbers what a chapter labels the way Sphinx does: chapters in the
order of ``_toc.yml`` (the chapters of numbered parts, counted on across parts
as Jupyter Book's ``use_multitoc_numbering`` does), then per chapter
"Exercise 4.2", "Theorem 4.1" (a counter for each kind of statement),
"(4.3)" for labelled equations, "Fig. 1.2" for named figures. A
``BookIndex`` reads the book once, walking every document with the same
``myst.Converter`` that writes the student versions, so that a reference in
one chapter to a label in another prints the number the HTML shows. It also
holds the bibliography, for ``{cite}`` and ``{bibliography}``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from .solutions import NotebookError

TOC, CONFIG = "_toc.yml", "_config.yml"

#: How {numref} and {prf:ref} name each kind of numbered thing when given no text.
NAMES = {"exercise": "Exercise", "equation": "Equation", "figure": "Fig.",
         "section": "Section"}


@dataclass(frozen=True)
class Target:
    """A labelled thing: its ``kind`` ('exercise', 'theorem', 'equation', 'figure',
    'section', ...), its ``number`` ('4.2', or None when unnumbered), its
    ``title`` (an exercise's or a theorem's title, a section's heading, a
    figure's caption; '' when none) and the document it is in."""

    kind: str
    number: str | None
    title: str
    docname: str

    @property
    def name(self):
        """'Exercise 4.2', 'Theorem 4.1', 'Fig. 1.2': the words {prf:ref} and {numref} print."""
        word = NAMES.get(self.kind, self.kind.capitalize())
        return f"{word} {self.number}" if self.number else word


@dataclass
class Document:
    """What the walk found in one document: its chapter number, title and citations."""

    number: str | None
    title: str = ""
    cited: list = field(default_factory=list)


class BookIndex:
    """Every label of the book, the chapter number of each document, and the bibliography.

    ``BookIndex.of_book(root)`` reads ``root/_toc.yml`` and ``root/_config.yml``;
    ``BookIndex()`` is an empty book, to which ``add`` puts documents that
    belong to no table of contents (unnumbered, as Sphinx numbers them).
    """

    def __init__(self, root=None, bibfiles=()):
        self.root = Path(root).resolve() if root is not None else None
        self.targets: dict[str, Target] = {}
        self.documents: dict[str, Document] = {}
        self._bibfiles = [Path(path) for path in bibfiles]
        self._bibliography = None

    # ---------------------------------------------------------------- reading the book

    @classmethod
    def of_book(cls, root):
        """The index of the Jupyter Book whose ``_toc.yml`` and ``_config.yml`` are in ``root``."""
        import yaml

        root = Path(root)
        toc = yaml.safe_load((root / TOC).read_text(encoding="utf-8"))
        config_path = root / CONFIG
        config = (yaml.safe_load(config_path.read_text(encoding="utf-8"))
                  if config_path.exists() else {}) or {}
        bibfiles = [root / path for path in config.get("bibtex_bibfiles", [])]
        index = cls(root, bibfiles)
        across_parts = (config.get("html") or {}).get("use_multitoc_numbering", True)
        for docname, number in _numbered_chapters(toc, across_parts):
            index.add(docname, _read_document(root, docname), number)
        return index

    @staticmethod
    def find_root(path):
        """The nearest folder at or above ``path`` that holds a ``_toc.yml``, or None."""
        path = Path(path).resolve()
        for folder in [path, *path.parents] if path.is_dir() else path.parents:
            if (folder / TOC).is_file():
                return folder
        return None

    def docname(self, path):
        """``book/sgd`` for ``<root>/book/sgd.ipynb``; the file's stem outside the book."""
        path = Path(path).resolve()
        if self.root is not None and self.root in path.parents:
            return path.relative_to(self.root).with_suffix("").as_posix()
        return path.stem

    def add(self, docname, nb, number=None):
        """Walk the notebook ``nb`` as document ``docname`` (chapter ``number``, or None)."""
        from .myst import Converter

        converter = Converter(self, docname, number, collecting=True)
        for index, cell in enumerate(nb.cells):
            converter.where = f"{docname}, cell {index}"
            converter.cell(cell)
        self.documents[docname] = Document(number, converter.title, converter.cited)

    def ensure(self, docname, nb):
        """Add ``nb`` as ``docname`` unless the book already holds that document."""
        if docname not in self.documents:
            self.add(docname, nb)

    # ---------------------------------------------------------------- what the converter asks

    def record(self, label, target, where):
        known = self.targets.get(label)
        if known is not None and known != target:
            raise NotebookError(f"{where}: the label {label!r} is already used in "
                                f"{known.docname}")
        self.targets[label] = target

    def target(self, label, where, kinds=None):
        """The Target labelled ``label`` (of one of ``kinds``, when given)."""
        found = self.targets.get(label)
        if found is None:
            raise NotebookError(f"{where}: no label {label!r} in the book")
        if kinds is not None and found.kind not in kinds:
            raise NotebookError(f"{where}: {label!r} is a {found.kind}, not a "
                                f"{' or '.join(kinds)}")
        return found

    def title(self, docname, where):
        if docname not in self.documents:
            raise NotebookError(f"{where}: no document {docname!r} in the book")
        return self.documents[docname].title

    def citation(self, keys, textual, where):
        """``[Cauchy, 1847]`` ({cite}) or ``Robbins and Monro [1951]`` ({cite:t}), several keys
        in the bibliography's order and joined by ', ', as sphinxcontrib-bibtex's author_year
        style writes them."""
        entries = self._sorted(keys, where)
        if textual:
            return ", ".join(f"{_authors(entry)} [{entry.fields.get('year', 'n.d.')}]"
                             for entry in entries)
        return "[" + ", ".join(f"{_authors(entry)}, {entry.fields.get('year', 'n.d.')}"
                               for entry in entries) + "]"

    def references(self, keys, where):
        """The works ``keys`` as the HTML's bibliography lists them, one Markdown line each."""
        style = _pybtex_plugin("pybtex.style.formatting", "plain")()
        markdown = _pybtex_plugin("pybtex.backends", "markdown")()
        entries = style.format_entries(self._sorted(keys, where))
        return [" ".join(entry.text.render(markdown).split()) for entry in entries]

    def cited(self, docname=None):
        """The keys cited in ``docname``, or in every document of the book."""
        documents = [self.documents[docname]] if docname else self.documents.values()
        return list(dict.fromkeys(key for document in documents for key in document.cited))

    def _sorted(self, keys, where):
        bibliography = self._load_bibliography(where)
        missing = [key for key in keys if key not in bibliography.entries]
        if missing:
            raise NotebookError(f"{where}: no entry {', '.join(missing)} in the bibliography")
        entries = [bibliography.entries[key] for key in dict.fromkeys(keys)]
        return _pybtex_plugin("pybtex.style.sorting", "author_year_title")().sort(entries)

    def _load_bibliography(self, where):
        if self._bibliography is None:
            if not self._bibfiles:
                raise NotebookError(f"{where}: a citation, but no bibliography "
                                    f"(bibtex_bibfiles in {CONFIG})")
            from pybtex.database import BibliographyData, parse_file

            self._bibliography = BibliographyData()
            for path in self._bibfiles:
                for key, entry in parse_file(str(path)).entries.items():
                    self._bibliography.entries[key] = entry
        return self._bibliography


@functools.cache
def _pybtex_plugin(group, name):
    """pybtex's plugin ``name`` of ``group``, looked up once: each lookup reads the entry
    points of every installed package (about 20 ms)."""
    from pybtex.plugin import find_plugin

    return find_plugin(group, name)


def _authors(entry):
    """'Cauchy', 'Robbins and Monro', 'Carmon *et al.*': the author part of a citation."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    text = _pybtex_plugin("pybtex.backends", "text")()
    names = [" ".join(part.render(text) for part in
                      [*person.rich_prelast_names, *person.rich_last_names])
             for person in people]
    if not names:
        return entry.fields.get("title", entry.key)
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} *et al.*"


def _numbered_chapters(toc, across_parts):
    """(docname, chapter number or None) for the root and every chapter in ``toc``, in order.

    Files nested under a chapter (``sections:``) would be numbered 4.1, 4.2,
    ... by Sphinx, with their figures and equations numbered from that; the
    student versions do not follow that scheme, so a numbered part with nested
    files is refused rather than numbered differently from the HTML.
    """
    yield toc["root"], None
    number = 0
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        numbered = part.get("numbered", False)
        if numbered and not across_parts:
            number = 0
        for entry in part.get("chapters", []):
            if numbered and entry.get("sections"):
                raise ValueError(f"{TOC}: {entry.get('file')} has sections in a numbered part; "
                                 "the student versions number only chapters")
            if "file" not in entry:
                continue
            if numbered:
                number += 1
            yield entry["file"], str(number) if numbered else None


def _read_document(root, docname):
    """A toc entry as a notebook: the .ipynb itself, or a Markdown file as one cell."""
    base = root / PurePosixPath(docname)
    notebook, markdown = base.with_suffix(".ipynb"), base.with_suffix(".md")
    if notebook.exists():
        return nbformat.read(notebook, as_version=4)
    if markdown.exists():
        text = markdown.read_text(encoding="utf-8")
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    raise FileNotFoundError(f"{TOC} lists {docname}, but neither {notebook} nor {markdown} "
                            "exists")
