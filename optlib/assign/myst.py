"""MyST Markdown to portable Markdown: what a student version shows in any Jupyter front-end.

The chapters are written in MyST (directives, roles, labelled equations),
which Jupyter Book renders and JupyterLab renders only with jupyterlab-myst;
Colab, VS Code and a plain JupyterHub show it as raw text. A ``Converter``
rewrites one document's Markdown cells, in order, as CommonMark with ``$``
maths, numbered as the HTML numbers them (the numbers of other chapters come
from the ``BookIndex``):

==================================  ==========================================
MyST                                portable Markdown
==================================  ==========================================
``# Title``, ``## Section``         ``# 4. Title``, ``## 4.1. Section``
```{exercise} Title`` + ``:label:``  a heading ``### Exercise 4.2 (Title)``, one
                                    level below the section it is in
```{prf:theorem} Title``, lemma,    ``**Theorem 4.1 (Title).**`` opening the
definition, proposition, ...        first paragraph (a counter for each kind)
```{prf:proof}``                    ``**Proof.**`` ... ``∎``
```{solution} ex-label``            ``**Solution to Exercise 4.2 (Title).**``
                                    (student versions remove them first)
``$$ ... $$ (eq-label)``            ``$$ ... \\tag{4.3} $$``
```{math}`` with ``:label:``        the same
{eq}`eq-label`                      ``(4.3)``
{prf:ref}, {numref}, {ref}, {doc}   ``Theorem 4.1``, ``Fig. 1.2``, ``Exercise 4.2``,
                                    a section's or a document's title; or the
                                    text given, as in {ref}`text <label>`
{cite}`a,b`, {cite:t}`a`            ``[Bubeck, 2015, Nesterov, 2018]``,
                                    ``Robbins and Monro [1951]``
```{bibliography}``                 the works cited, a numbered list
``(label)=``                        removed
admonitions (```{note}``, ...)      a block quote opening with ``**Note.**``
a code cell's figure caption        a Markdown cell after it: ``**Fig. 1.2.**``
(``mystnb.figure`` metadata)        and the caption
==================================  ==========================================

A directive or role with no portable form here raises NotebookError naming
it and the cell, rather than leaving raw MyST in a student's notebook.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from posixpath import dirname, join, normpath

from .book import Target
from .solutions import BEGIN_SOLUTION, END_SOLUTION, NotebookError

#: sphinx-proof's statements, each numbered on its own per chapter; proofs are not numbered.
STATEMENTS = ("theorem", "lemma", "definition", "proposition", "corollary", "conjecture",
              "example", "remark", "axiom", "criterion", "algorithm", "property",
              "observation", "assumption", "notation")
ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
               "warning": "Warning", "caution": "Caution", "attention": "Attention",
               "danger": "Danger", "error": "Error", "seealso": "See also"}
#: Roles whose text is all a reader needs: {sub}`2`, {kbd}`Ctrl`, {term}`text <label>`.
PLAIN_ROLES = {"sub", "sup", "kbd", "abbr", "term", "dfn", "samp", "command", "file",
               "guilabel", "menuselection", "program"}
QED = "∎"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<argument>.*?)\s*$")
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
_TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*$")
# A role, or a code span (copied as it is, so that `{eq}` in code stays code).
_INLINE = re.compile(r"\{(?P<role>[\w:+-]+)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks)"
                     r"|(?P<code>(?P<code_ticks>`+).+?(?P=code_ticks))", re.DOTALL)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<label>[^<>]+)>$", re.DOTALL)
_LABEL_AFTER_MATH = re.compile(r"[ \t]*\((?P<label>[^()\s]+)\)[ \t]*(?=\n|$)")
_PARAGRAPH_START = re.compile(r"^\s*(\$\$|[-*+][ \t]|\d+[.)][ \t]|#|>|\||`{3}|~{3}|<|:{3})")


@dataclass
class _Directive:
    name: str
    argument: str
    options: dict
    body: list


class Converter:
    """Converts the Markdown of one document, cell after cell, in the order of the notebook.

    ``collecting=True`` is the index's walk: it numbers and records every
    label and citation and resolves nothing (other chapters are not read
    yet); the output is then not meant to be read.
    """

    def __init__(self, book, docname, chapter, collecting=False):
        self.book, self.docname, self.chapter = book, docname, chapter
        self.collecting = collecting
        self.where = docname
        self.title, self.cited = "", []
        self._counts = Counter()
        self._sections = []          # the section number of the current heading, (1, 2, ...)
        self._pending_label = None   # a (label)= target waiting for what it labels

    # ---------------------------------------------------------------- cells

    def cell(self, cell):
        """The cell's converted Markdown; for a code cell, the caption cell to add after it
        (or None)."""
        if cell.cell_type == "markdown":
            return self.markdown(cell.source)
        if cell.cell_type == "code":
            return self.figure_caption(cell.get("metadata", {}))
        return None

    def markdown(self, text):
        """``text`` (one Markdown cell) as portable Markdown."""
        return self._blocks(text.split("\n"), nested=False)

    def figure_caption(self, metadata):
        """'**Fig. 1.2.** caption' for a code cell whose ``mystnb.figure`` metadata names a
        figure (Sphinx numbers named figures only), the caption alone for an unnamed one."""
        figure = metadata.get("mystnb", {}).get("figure") if metadata else None
        if not figure or not (figure.get("caption") or figure.get("name")):
            return None
        caption = self._inline(figure.get("caption", "")).strip()
        if not figure.get("name"):
            return caption or None
        number = self._number("figure", figure["name"])
        self._record(figure["name"], "figure", number, caption)
        return f"**Fig. {number}.** {caption}".rstrip()

    # ---------------------------------------------------------------- blocks

    def _blocks(self, lines, nested):
        out, text, index = [], [], 0
        while index < len(lines):
            fence = _FENCE.match(lines[index])
            if fence is None:
                text.append(lines[index])
                index += 1
                continue
            out.append(self._text(text, nested))
            text = []
            self._untitled_target()
            last = _closing(lines, index, fence["fence"])
            directive = _DIRECTIVE.match(fence["info"].strip())
            if directive is None or fence["fence"][0] == "~":
                out.append("\n".join(lines[index:last + 1]))       # a code block, as it is
            elif last == len(lines):
                raise NotebookError(f"{self.where}: the block opened with {fence['fence']} on "
                                    f"line {index + 1} is never closed")
            else:
                body = _dedent(lines[index + 1:last], fence["indent"])
                options, body = _options(body)
                out.append(self._directive(_Directive(directive["name"],
                                                      directive["argument"], options, body)))
            index = last + 1
        out.append(self._text(text, nested))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")

    def _text(self, lines, nested):
        kept = []
        for line in lines:
            target, heading = _TARGET.match(line), _HEADING.match(line)
            if target:
                self._untitled_target()
                self._pending_label = target["label"]
            elif heading and not nested and BEGIN_SOLUTION not in line \
                    and END_SOLUTION not in line:
                kept.append(self._heading(len(heading["hashes"]), heading["title"]))
            else:
                if line.strip():
                    self._untitled_target()
                kept.append(line)
        return self._inline(self._display_maths("\n".join(kept)))

    def _heading(self, level, title):
        title = self._inline(title)
        if level == 1 and not self.title:
            self.title = title
        number = self._section_number(level)
        self._record(self._pending_label, "section", number, title)
        self._pending_label = None
        shown = f"{number}. {title}" if number else title
        return f"{'#' * level} {shown}"

    def _section_number(self, level):
        """'4' for the title, '4.1' for a section, '4.1.2' for a subsection (None unnumbered)."""
        if level == 1:
            self._sections = []
            return self.chapter
        depth = level - 1
        self._sections = (self._sections + [0] * depth)[:depth]
        self._sections[-1] += 1
        if self.chapter is None:
            return None
        return ".".join([self.chapter, *map(str, self._sections)])

    def _display_maths(self, text):
        """Labelled display maths, ``$$ ... $$ (label)``, numbered with ``\\tag``."""
        out, position = [], 0
        while (start := text.find("$$", position)) >= 0:
            end = text.find("$$", start + 2)
            if end < 0:
                break
            after = _LABEL_AFTER_MATH.match(text, end + 2)
            out.append(text[position:start])
            if after:
                out.append(self._equation(text[start + 2:end], after["label"]))
                position = after.end()
            else:
                out.append(text[start:end + 2])
                position = end + 2
        return "".join(out) + text[position:]

    def _equation(self, body, label=None):
        if label is None:
            return f"$${body}$$"
        number = self._number("equation", label)
        self._record(label, "equation", number, "")
        if "\n" in body:
            return f"$${body.rstrip()}\n\\tag{{{number}}}\n$$"
        return f"$$ {body.strip()} \\tag{{{number}}} $$"

    # ---------------------------------------------------------------- directives

    def _directive(self, directive):
        name = directive.name
        if name == "exercise":
            return self._exercise(directive)
        if name.startswith("prf:"):
            return self._statement(directive)
        if name in ("solution", "solution-start"):
            return self._solution(directive)
        if name == "solution-end":
            return ""
        if name == "bibliography":
            return self._bibliography(directive)
        if name == "math":
            body = "\n".join(directive.body) or directive.argument
            return self._equation(f"\n{body.strip()}\n", directive.options.get("label"))
        if name in ADMONITIONS or name == "admonition":
            return self._admonition(directive)
        if name in ("code-block", "code", "sourcecode"):
            return "\n".join([f"```{directive.argument}", *directive.body, "```"])
        if self.collecting:
            return self._blocks(directive.body, nested=True)
        raise NotebookError(f"{self.where}: no portable form for the directive "
                            f"{{{name}}}; see optlib/assign/myst.py for those there are")

    def _exercise(self, directive):
        label = directive.options.get("label")
        number = None if "nonumber" in directive.options else self._number("exercise", label)
        title = self._inline(directive.argument)
        self._record(label, "exercise", number, title)
        heading = f"Exercise {number}" if number else "Exercise"
        heading += f" ({title})" if title else ""
        level = min(len(self._sections) + 2, 6)
        return f"{'#' * level} {heading}\n\n{self._blocks(directive.body, nested=True)}"

    def _statement(self, directive):
        kind = directive.name.removeprefix("prf:")
        body = self._blocks(directive.body, nested=True)
        if kind == "proof":
            return _labelled("**Proof.**", _end_with(body, QED))
        if kind not in STATEMENTS:
            raise NotebookError(f"{self.where}: unknown statement {{prf:{kind}}}")
        label = directive.options.get("label")
        number = None if "nonumber" in directive.options else self._number(kind, label)
        title = self._inline(directive.argument)
        self._record(label, kind, number, title)
        label = f"{kind.capitalize()} {number}" if number else kind.capitalize()
        label += f" ({title})" if title else ""
        return _labelled(f"**{label}.**", body)

    def _solution(self, directive):
        body = self._blocks(directive.body, nested=True)
        label = directive.argument
        if self.collecting or label not in self.book.targets:
            return _labelled("**Solution.**", body)
        exercise = self.book.targets[label]
        title = f" ({exercise.title})" if exercise.title else ""
        return _labelled(f"**Solution to {exercise.name}{title}.**", body)

    def _bibliography(self, directive):
        if self.collecting:
            return ""
        chosen = directive.options.get("filter", "")
        if chosen and chosen != "docname in docnames":
            raise NotebookError(f"{self.where}: a bibliography filter other than "
                                f"'docname in docnames': {chosen!r}")
        keys = self.book.cited(self.docname if chosen else None)
        if not keys:
            return ""
        works = self.book.references(keys, self.where)
        return "\n".join(f"{number}. {work}" for number, work in enumerate(works, start=1))

    def _admonition(self, directive):
        if directive.name == "admonition":
            title, first = self._inline(directive.argument), []
        else:
            title, first = ADMONITIONS[directive.name], [directive.argument]
        body = self._blocks([*filter(None, first), *directive.body], nested=True)
        text = _labelled(f"**{title}.**", body)
        return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))

    # ---------------------------------------------------------------- roles

    def _inline(self, text):
        return _INLINE.sub(self._role_or_code, text)

    def _role_or_code(self, match):
        if match["code"] is not None:
            return match["code"]
        return self._role(match["role"], " ".join(match["content"].split()))

    def _role(self, role, content):
        explicit = _EXPLICIT.match(content)
        text, label = (explicit["text"], explicit["label"]) if explicit else (None, content)
        if role in ("cite", "cite:p", "cite:t"):
            keys = [key.strip() for key in content.split(",") if key.strip()]
            self.cited.extend(keys)
            return "" if self.collecting else self.book.citation(keys, role == "cite:t",
                                                                 self.where)
        if role == "math":
            return f"${content}$"
        if role in ("code", "literal"):
            return f"`{content}`"
        if role in PLAIN_ROLES:
            return text if text is not None else content
        if role not in ("eq", "prf:ref", "ref", "numref", "doc"):
            if self.collecting:
                return content
            raise NotebookError(f"{self.where}: no portable form for the role {{{role}}}")
        if self.collecting:
            return text or ""
        if role == "doc":
            path = label.lstrip("/") if label.startswith("/") else \
                normpath(join(dirname(self.docname), label))
            return text or self.book.title(path.removesuffix(".md").removesuffix(".ipynb"),
                                           self.where)
        if role == "eq":
            return f"({self.book.target(label, self.where, ['equation']).number})"
        target = self.book.target(label, self.where)
        if role == "numref":
            return _numref(text, target)
        if text:
            return text
        if role == "ref" and target.kind == "target":
            raise NotebookError(f"{self.where}: {{ref}}`{label}` names no heading; give the "
                                f"text, {{ref}}`text <{label}>`")
        if role == "ref" and target.kind in ("section", "figure"):
            return target.title
        return target.name

    # ---------------------------------------------------------------- numbering

    def _number(self, kind, label=None):
        """The next number of ``kind`` in this chapter. A labelled thing takes the number the
        index gave it, and the count goes on from there: a student version that lost a
        labelled equation with a removed solution still numbers the rest as the HTML does."""
        self._counts[kind] += 1
        known = self.book.targets.get(label) if label and not self.collecting else None
        if known is not None and known.number:
            self._counts[kind] = int(known.number.rsplit(".", 1)[-1])
            return known.number
        count = self._counts[kind]
        return f"{self.chapter}.{count}" if self.chapter else str(count)

    def _untitled_target(self):
        """A (label)= target before something other than a heading: {ref} needs its text."""
        if self._pending_label:
            self._record(self._pending_label, "target", None, "")
            self._pending_label = None

    def _record(self, label, kind, number, title):
        if label and self.collecting:
            self.book.record(label, Target(kind, number, title, self.docname), self.where)


# ---------------------------------------------------------------- helpers


def _closing(lines, opening, fence):
    """The index of the line closing the fence opened at ``opening`` (len(lines) if none):
    the same character, at least as many, and nothing else (CommonMark's rule)."""
    closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    return next((index for index in range(opening + 1, len(lines))
                 if closing.match(lines[index])), len(lines))


def _dedent(lines, indent):
    return [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines]


def _options(body):
    """A directive's ``:key: value`` lines (or a ``---`` YAML block) and the rest of its body."""
    options, index = {}, 0
    if body and body[0].strip() == "---":
        end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), None)
        if end is not None:
            for line in body[1:end]:
                key, _, value = line.partition(":")
                options[key.strip()] = value.strip()
            return options, body[end + 1:]
    while index < len(body) and (option := _OPTION.match(body[index])):
        options[option["key"]] = option["value"]
        index += 1
    return options, body[index:]


def _labelled(label, body):
    """``label`` opening the body's first paragraph, or on a line of its own before it."""
    if body and not _PARAGRAPH_START.match(body):
        return f"{label} {body}"
    return f"{label}\n\n{body}".rstrip()


def _end_with(body, mark):
    """``body`` with ``mark`` after its last paragraph (on a line of its own after a display)."""
    last = body.rstrip().rsplit("\n", 1)[-1]
    if not body.strip() or last.strip().endswith(("$$", "```", "~~~")) or \
            last.lstrip().startswith("|"):
        return f"{body.rstrip()}\n\n{mark}".strip()
    return f"{body.rstrip()} {mark}"


def _numref(text, target):
    """{numref}: 'Fig. 1.2', or the text with %s (or {number}) replaced by the number and
    {name} by the title."""
    if text is None:
        return target.name
    return text.replace("%s", target.number or "").replace(
        "{number}", target.number or "").replace("{name}", target.title)
