"""Student versions: stubs in place of solutions, no solution text left, nothing else broken,
Markdown that any Jupyter front-end renders, numbered as the HTML, and no student's work lost.

A small instructor notebook written here exercises every convention of
docs/exercises.md, a small MyST document every rule of optlib.assign.myst; the
chapters in book/ are checked the same way (executing them, and comparing
their numbers with the built HTML, is marked ``book``).
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from optlib.assign import (
    CODE_STUB,
    REMOVE_TAG,
    TEXT_STUB,
    BookIndex,
    Converter,
    NotebookError,
    WouldOverwrite,
    convert,
    main,
    nbgrader_source,
    solution_texts,
    student_version,
)
from optlib.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

# A call of a registered check: check("name", ...) or check_name(...), optionally qualified.
_NAMES = "|".join(EXERCISES)
CHECK_CALL = re.compile(rf"\bcheck\(\s*['\"](?:{_NAMES})['\"]|\bcheck_(?:{_NAMES})\(")

SOLUTION_CELL = {"grade": False, "grade_id": "", "locked": False, "schema_version": 3,
                 "solution": True, "task": False}
CHECK_CELL = {"grade": True, "grade_id": "", "locked": True, "points": 1, "schema_version": 3,
              "solution": False, "task": False}
ANSWER_CELL = {"grade": True, "grade_id": "", "locked": False, "points": 1,
               "schema_version": 3, "solution": True, "task": False}


def nbgrader(kind, grade_id):
    return {"nbgrader": {**kind, "grade_id": grade_id}}


GD_STEP = '''\
def gd_step(x, g, lr):
    """One step of gradient descent: x_next = x - lr g."""
    ### BEGIN SOLUTION
    x_next = x - lr * g   # the step against the gradient
    return x_next
    ### END SOLUTION'''

ADAM_STEP = '''\
import numpy as np


def adam_step(x, g, m, v, t, lr, b1, b2, eps):
    """One Adam step with bias correction; t = 1 at the first step."""
    ### BEGIN SOLUTION
    m_next = b1 * m + (1 - b1) * g
    v_next = b2 * v + (1 - b2) * g**2
    m_hat, v_hat = m_next / (1 - b1**t), v_next / (1 - b2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps), m_next, v_next
    ### END SOLUTION'''

VALUE_ANSWER = '''\
kappa = 100.0
### BEGIN SOLUTION
best_rate = (kappa - 1) / (kappa + 1)
### END SOLUTION'''

HIDDEN_TESTS = '''\
check("gd_step", gd_step)
### BEGIN HIDDEN TESTS
assert abs(gd_step(1.0, 2.0, 0.25) - 0.5) < 1e-12  # a hidden assertion
### END HIDDEN TESTS'''

DERIVATION = '''\
```{solution} ex-derive
:class: dropdown

Set the derivative of $\\eta \\mapsto -\\eta g^\\top g + \\tfrac{\\eta^2}{2} g^\\top H g$ to zero:
the minimizer is $\\eta^\\star = g^\\top g / g^\\top H g$ (the secret derivation).
```'''

NESTED = '''\
Some context that stays.

````{solution} ex-nested
:class: dropdown

```{math}
\\lambda_{\\min} = \\text{the nested secret}
```
And the nested explanation.
````

Text after the nested block stays too.'''

COLON_FENCE = '''\
:::{solution} ex-colon
A colon-fenced secret answer.
:::'''

GATED = '''\
```{solution-start} ex-gated
:class: dropdown
```
The gated secret, with code:

```python
print("gated secret code")
```

```{solution-end}
```'''


def instructor_notebook():
    """An instructor notebook using every convention, with one answer that already ran."""
    cells = [
        new_markdown_cell("# A small chapter\n\nSome prose that the learner keeps."),
        new_code_cell("from optlib.exercises import check, check_adam_step"),
        new_markdown_cell("```{exercise}\n:label: ex-gd\n\nComplete `gd_step`.\n```"),
        new_code_cell(GD_STEP, metadata=nbgrader(SOLUTION_CELL, "gd_step")),
        new_code_cell(HIDDEN_TESTS, metadata=nbgrader(CHECK_CELL, "check_gd_step")),
        new_code_cell(ADAM_STEP, metadata=nbgrader(SOLUTION_CELL, "adam_step")),
        new_code_cell("check_adam_step(adam_step)",
                      metadata=nbgrader(CHECK_CELL, "check_adam_step")),
        new_code_cell(VALUE_ANSWER, metadata=nbgrader(SOLUTION_CELL, "best_rate")),
        new_markdown_cell("```{exercise}\n:label: ex-derive\n\nDerive the best step.\n```"),
        new_markdown_cell(DERIVATION, metadata=nbgrader(ANSWER_CELL, "derive")),
        new_markdown_cell(NESTED),
        new_markdown_cell(COLON_FENCE),
        new_markdown_cell(GATED),
        new_markdown_cell("Instructor's note: the secret remark.",
                          metadata={"tags": [REMOVE_TAG]}),
        new_code_cell("print('done')"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="done\n")]
    nb.cells[-1].execution_count = 7
    return nb


SECRETS = ["x - lr * g", "the step against the gradient", "np.sqrt(v_hat) + eps",
           "(kappa - 1) / (kappa + 1)", "a hidden assertion", "the secret derivation",
           "the nested secret", "nested explanation", "colon-fenced secret",
           "gated secret", "the secret remark"]


def sources(nb):
    return "\n".join(cell.source for cell in nb.cells)


def execute(nb, cwd):
    """Run every cell, errors allowed; the kernel finds optlib in this checkout."""
    from nbclient import NotebookClient

    env_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous
    return nb


def errors(nb):
    return [(index, output.ename, output.evalue) for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code" for output in cell.outputs
            if output.output_type == "error"]


def printed(cell):
    return "".join(output.get("text", "") for output in cell.outputs
                   if output.output_type == "stream")


def check_cells(nb):
    return [cell for cell in nb.cells
            if cell.cell_type == "code" and CHECK_CALL.search(cell.source)]


# ---------------------------------------------------------------- the small notebook


@pytest.fixture(scope="module")
def instructor():
    return instructor_notebook()


@pytest.fixture(scope="module")
def student(instructor):
    return student_version(instructor, "small.ipynb")


def test_the_instructors_notebook_runs_and_every_check_passes(instructor, tmp_path):
    ran = execute(nbformat.from_dict(instructor), tmp_path)
    assert errors(ran) == []
    for cell in check_cells(ran):
        assert "correct" in printed(cell) and "not answered" not in printed(cell)


def test_a_wrong_reference_solution_fails_the_instructors_notebook(tmp_path):
    wrong = GD_STEP.replace("x - lr * g", "x + lr * g")
    nb = new_notebook(cells=[
        new_code_cell("from optlib.exercises import check"),
        new_code_cell(wrong, metadata=nbgrader(SOLUTION_CELL, "gd_step")),
        new_code_cell('check("gd_step", gd_step)', metadata=nbgrader(CHECK_CELL, "check")),
    ])
    ran = execute(nb, tmp_path)
    assert [name for _, name, _ in errors(ran)] == ["ExerciseFailed"]


def test_the_student_notebook_raises_only_the_stubs_and_checks_say_not_answered(
        student, tmp_path):
    ran = execute(nbformat.from_dict(student), tmp_path)
    found = errors(ran)
    assert found, "the top-level answer cell should raise NotImplementedError"
    assert {name for _, name, _ in found} == {"NotImplementedError"}
    checks = check_cells(ran)
    assert len(checks) == 2
    for cell in checks:
        assert "not answered yet" in printed(cell)
    assert "Traceback" not in "".join(printed(cell) for cell in checks)


def test_no_solution_text_survives(instructor, student):
    for secret in SECRETS:
        assert secret in sources(instructor), f"the test notebook lacks {secret!r}"
        assert secret not in sources(student), f"{secret!r} survived"
    found = solution_texts(instructor)
    assert len(found) == 7
    for text in found:
        assert text not in sources(student)


def test_stubs_keep_the_signature_and_the_docstring(student):
    gd = next(cell.source for cell in student.cells if "def gd_step" in cell.source)
    assert gd == (
        "def gd_step(x, g, lr):\n"
        '    """One step of gradient descent: x_next = x - lr g."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()"
    )
    value = next(cell.source for cell in student.cells if "kappa = 100.0" in cell.source)
    assert value == "kappa = 100.0\n" + CODE_STUB


def test_markdown_around_solutions_stays(student):
    text = sources(student)
    assert "Some context that stays." in text
    assert "Text after the nested block stays too." in text
    assert "## Exercise 2\n\nDerive the best step." in text
    answer = next(cell for cell in student.cells
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == "derive")
    assert answer.source == TEXT_STUB
    assert not any(cell.source.strip() == "" for cell in student.cells)


def test_nbgrader_metadata_is_kept_and_outputs_cleared(instructor, student):
    def grade_ids(nb):
        return [cell.metadata["nbgrader"] for cell in nb.cells if "nbgrader" in cell.metadata]

    assert grade_ids(student) == grade_ids(instructor)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    # dropped: the tagged cell and the two cells that held nothing but a solution block
    assert len(student.cells) == len(instructor.cells) - 3
    assert instructor.cells[-1].outputs, "the instructor's notebook is left as it was"


def test_a_folded_solution_cell_is_unfolded_for_the_student():
    folded = {"tags": ["hide-input", "keep-me"], "jupyter": {"source_hidden": True},
              "mystnb": {"code_prompt_show": "Show solution",
                         "code_prompt_hide": "Hide solution"}}
    claims = {"tags": ["hide-input"], "jupyter": {"source_hidden": True}}
    nb = new_notebook(cells=[
        new_code_cell(GD_STEP, metadata={**nbgrader(SOLUTION_CELL, "gd"), **folded}),
        new_code_cell("assert True", metadata=claims),
    ])
    for version in (student_version(nb), nbgrader_source(nb)):
        solution, claim = version.cells
        assert solution.metadata == {**nbgrader(SOLUTION_CELL, "gd"), "tags": ["keep-me"]}
        assert claim.metadata == claims, "claim cells stay folded"
    assert nb.cells[0].metadata["tags"] == ["hide-input", "keep-me"], "the source is unchanged"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "without 'END SOLUTION'"),
    ("x = 1\n### END SOLUTION", "without 'BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
])
def test_broken_markers_are_named(source, message):
    nb = new_notebook(cells=[new_code_cell(source, metadata=nbgrader(SOLUTION_CELL, "a"))])
    with pytest.raises(NotebookError, match=rf"x.ipynb, cell 0: .*{message}"):
        student_version(nb, "x.ipynb")


def test_a_solution_region_needs_nbgrader_metadata():
    nb = new_notebook(cells=[new_code_cell(GD_STEP)])
    with pytest.raises(NotebookError, match="without nbgrader metadata"):
        student_version(nb)


def test_an_unclosed_solution_block_is_named():
    nb = new_notebook(cells=[new_markdown_cell("```{solution} ex\nnever closed")])
    with pytest.raises(NotebookError, match="never closed"):
        student_version(nb)


def test_the_command_line_mirrors_a_folder(tmp_path, capsys):
    source = tmp_path / "chapters"
    (source / "part").mkdir(parents=True)
    (source / ".ipynb_checkpoints").mkdir()
    nbformat.write(instructor_notebook(), source / "one.ipynb")
    nbformat.write(instructor_notebook(), source / "part" / "two.ipynb")
    nbformat.write(instructor_notebook(), source / ".ipynb_checkpoints" / "one-checkpoint.ipynb")
    assert main([str(source), str(tmp_path / "student")]) == 0
    written = sorted(p.relative_to(tmp_path / "student").as_posix()
                     for p in (tmp_path / "student").rglob("*.ipynb"))
    assert written == ["one.ipynb", "part/two.ipynb"]
    assert "(7 solutions, removed; written)" in capsys.readouterr().out
    for path in (tmp_path / "student").rglob("*.ipynb"):
        assert "the secret derivation" not in path.read_text()


def test_the_command_line_converts_one_file_and_refuses_to_overwrite_the_source(tmp_path,
                                                                               capsys):
    nbformat.write(instructor_notebook(), tmp_path / "one.ipynb")
    assert main([str(tmp_path / "one.ipynb"), str(tmp_path / "out.ipynb")]) == 0
    assert "YOUR CODE HERE" in (tmp_path / "out.ipynb").read_text()
    assert main([str(tmp_path), str(tmp_path / "inside")]) == 1
    assert "must lie outside the source" in capsys.readouterr().err


def test_the_module_runs_as_a_command(tmp_path):
    nbformat.write(instructor_notebook(), tmp_path / "one.ipynb")
    result = subprocess.run([sys.executable, "-m", "optlib.assign", str(tmp_path / "one.ipynb"),
                             str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "one.ipynb").is_file()


# ---------------------------------------------------------------- never losing a student's work


def test_make_student_refuses_to_overwrite_a_students_work(tmp_path, capsys):
    source, student = tmp_path / "chapters", tmp_path / "student"
    source.mkdir()
    nbformat.write(instructor_notebook(), source / "one.ipynb")
    nbformat.write(instructor_notebook(), source / "two.ipynb")
    assert main([str(source), str(student)]) == 0
    assert main([str(source), str(student)]) == 0, "an unchanged rerun is harmless"
    assert capsys.readouterr().out.count("; unchanged)") == 2
    answered = nbformat.read(student / "one.ipynb", as_version=4)
    answered.cells[3].source = answered.cells[3].source.replace(
        "raise NotImplementedError()", "return x - lr * g")
    nbformat.write(answered, student / "one.ipynb")
    (student / "two.ipynb").unlink()
    work = (student / "one.ipynb").read_text()

    assert main([str(source), str(student)]) == 1
    error = capsys.readouterr().err
    assert str(student / "one.ipynb") in error and "two.ipynb" not in error
    assert "--force" in error and "make student FORCE=1" in error
    assert (student / "one.ipynb").read_text() == work, "the student's answer is kept"
    assert not (student / "two.ipynb").exists(), "nothing at all is written"

    assert main([str(source), str(student), "--force"]) == 0
    assert "return x - lr * g" not in (student / "one.ipynb").read_text()
    assert (student / "two.ipynb").exists()


def test_convert_names_the_notebooks_it_would_overwrite(tmp_path):
    nbformat.write(instructor_notebook(), tmp_path / "one.ipynb")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "one.ipynb").write_text("{}")
    with pytest.raises(WouldOverwrite) as refusal:
        convert(tmp_path / "one.ipynb", tmp_path / "out")
    assert refusal.value.paths == [tmp_path / "out" / "one.ipynb"]


# ---------------------------------------------------------------- portable Markdown


BIBTEX = """\
@article{cauchy1847methode, author = {Cauchy, Augustin-Louis},
  title = {M{\\'e}thode g{\\'e}n{\\'e}rale}, journal = {Comptes Rendus}, volume = {25},
  pages = {536--538}, year = {1847}}
@article{robbins1951stochastic, author = {Robbins, Herbert and Monro, Sutton},
  title = {A stochastic approximation method}, journal = {Ann. Math. Stat.}, year = {1951}}
@article{carmon2020lower, author = {Carmon, Yair and Duchi, John C. and Hinder, Oliver},
  title = {Lower bounds}, journal = {Math. Program.}, year = {2020}}
"""

CHAPTER_ONE = [
    "# Gradients\n\nWhy gradients.",
    "## The slope\n\n(sec-slope)=\n### Along a line\n\n"
    "$$ f(x + h) \\approx f(x) + h f'(x) $$ (eq-one-taylor)\n\nAn unlabelled one: $$a = b$$",
    "```{prf:theorem} Steepest descent\n:label: thm-one-steepest\n\n"
    "The gradient is the steepest direction, as {eq}`eq-one-taylor` shows.\n```\n\n"
    "```{prf:proof}\nCauchy--Schwarz.\n```",
    "```{prf:definition} Smooth\n:label: def-one-smooth\n\nA definition.\n```\n\n"
    "```{prf:theorem}\nAn untitled theorem.\n```",
]

CHAPTER_TWO = [
    "# Descent\n\n$$\n\\theta_{t+1} = \\theta_t - \\eta g_t\n$$ (eq-two-update)",
    "By {prf:ref}`thm-one-steepest` and {eq}`eq-one-taylor`, see {ref}`sec-slope`, "
    "{ref}`the exercise <ex-two-loop>` and {numref}`fig-two-path`; {doc}`taylor` and "
    "`{eq}` in code stay. Cited: {cite}`robbins1951stochastic,cauchy1847methode`, "
    "{cite:t}`carmon2020lower`.",
    "(two-exercises)=\n## Exercises\n\n"
    "```{exercise} A loop\n:label: ex-two-loop\n\nApply {eq}`eq-two-update`.\n```\n\n"
    "```{solution} ex-two-loop\n:class: dropdown\n\nThe secret loop.\n```\n\n"
    "````{exercise} Nested\n:label: ex-two-nested\n\nSee:\n\n```{note}\nA note in it.\n```\n"
    "````",
    "```{math}\n:label: eq-two-math\nx = 1\n```\n\n"
    "```python\n# {cite}`not-a-role`\nx = 1\n```\n\n"
    "## References\n\n```{bibliography}\n:filter: docname in docnames\n```",
]


def markdown_notebook(cells, figure=None):
    nb = new_notebook(cells=[new_markdown_cell(text) for text in cells])
    if figure:
        nb.cells.insert(1, new_code_cell("plot()", metadata={"mystnb": {"figure": figure}}))
    return nb


@pytest.fixture
def small_book(tmp_path):
    """A book of an unnumbered introduction and two numbered chapters in two parts."""
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: One\n    numbered: true\n    chapters:\n      - file: book/taylor\n"
        "  - caption: Two\n    numbered: true\n    chapters:\n      - file: book/descent\n")
    (tmp_path / "_config.yml").write_text("bibtex_bibfiles:\n  - book/references.bib\n")
    (tmp_path / "book" / "references.bib").write_text(BIBTEX)
    (tmp_path / "book" / "intro.md").write_text("# The book\n\nAn introduction.\n")
    nbformat.write(markdown_notebook(CHAPTER_ONE), tmp_path / "book" / "taylor.ipynb")
    figure = {"name": "fig-two-path", "caption": "The path, by {prf:ref}`thm-one-steepest`."}
    nbformat.write(markdown_notebook(CHAPTER_TWO, figure), tmp_path / "book" / "descent.ipynb")
    return tmp_path


def converted(root, name):
    path = root / "book" / name
    return student_version(nbformat.read(path, as_version=4), str(path),
                           BookIndex.of_book(root))


def test_headings_statements_and_equations_are_numbered_as_sphinx_numbers_them(small_book):
    cells = [cell.source for cell in converted(small_book, "taylor.ipynb").cells]
    assert cells == [
        "# 1. Gradients\n\nWhy gradients.",
        "## 1.1. The slope\n\n### 1.1.1. Along a line\n\n"
        "$$ f(x + h) \\approx f(x) + h f'(x) \\tag{1.1} $$\n\nAn unlabelled one: $$a = b$$",
        "**Theorem 1.1 (Steepest descent).** The gradient is the steepest direction, as (1.1) "
        "shows.\n\n**Proof.** Cauchy--Schwarz. ∎",
        "**Definition 1.1 (Smooth).** A definition.\n\n**Theorem 1.2.** An untitled theorem.",
    ]


def test_references_citations_and_exercises_become_text(small_book):
    student = converted(small_book, "descent.ipynb")
    cells = [cell.source for cell in student.cells]
    assert cells[0] == "# 2. Descent\n\n$$\n\\theta_{t+1} = \\theta_t - \\eta g_t\n\\tag{2.1}\n$$"
    assert student.cells[1].cell_type == "code"
    assert cells[2] == "**Fig. 2.1.** The path, by Theorem 1.1."
    assert cells[3] == (
        "By Theorem 1.1 and (1.1), see Along a line, the exercise and Fig. 2.1; Gradients "
        "and `{eq}` in code stay. Cited: [Cauchy, 1847, Robbins and Monro, 1951], "
        "Carmon *et al.* [2020].")
    assert cells[4] == (
        "## 2.1. Exercises\n\n### Exercise 2.1 (A loop)\n\nApply (2.1).\n\n"
        "### Exercise 2.2 (Nested)\n\nSee:\n\n> **Note.** A note in it.")
    assert cells[5].startswith("$$\nx = 1\n\\tag{2.2}\n$$\n\n```python\n# {cite}`not-a-role`\n")
    assert cells[5].endswith(
        "## 2.2. References\n\n"
        "1. Yair Carmon, John C\\. Duchi, and Oliver Hinder\\. Lower bounds\\. "
        "*Math\\. Program\\.*, 2020\\.\n"
        "2. Augustin\\-Louis Cauchy\\. Méthode générale\\. *Comptes Rendus*, 25:536–538, "
        "1847\\.\n"
        "3. Herbert Robbins and Sutton Monro\\. A stochastic approximation method\\. "
        "*Ann\\. Math\\. Stat\\.*, 1951\\.")
    assert "secret" not in sources(student)


def test_a_kept_solution_is_labelled_with_its_exercise(small_book):
    path = small_book / "book" / "descent.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].metadata["nbgrader"] = {**ANSWER_CELL, "grade_id": "loop"}
    source = nbgrader_source(nb, str(path), BookIndex.of_book(small_book))
    assert "**Solution to Exercise 2.1 (A loop).** The secret loop." in sources(source)


@pytest.mark.parametrize("text, message", [
    ("```{glossary}\nterm\n```", "no portable form for the directive {glossary}"),
    ("See {download}`data.csv`.", "no portable form for the role {download}"),
    ("See {eq}`eq-nowhere`.", "no label 'eq-nowhere'"),
    ("See {eq}`thm-one-steepest`.", "is a theorem, not a equation"),
    ("```{prf:theorem}\nnever closed", "never closed"),
])
def test_myst_without_a_portable_form_is_refused_by_name(small_book, text, message):
    path = small_book / "book" / "taylor.ipynb"
    nb = markdown_notebook([*CHAPTER_ONE, text])
    with pytest.raises(NotebookError, match=rf"taylor.ipynb, cell 4: .*{re.escape(message)}"):
        student_version(nb, str(path), BookIndex.of_book(small_book))


RAW_MYST = re.compile(r"\{(?:prf:\w+|eq|cite(?::\w+)?|ref|numref|doc|exercise|solution)\}"
                      r"|^\s*:label:|^\s*\([^()\s]+\)=\s*$", re.MULTILINE)


def rendered_text(markdown):
    """The text of ``markdown`` as CommonMark with $-maths shows it, code excluded; and the info
    strings of its fenced blocks."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    tokens = MarkdownIt("commonmark").use(dollarmath_plugin).parse(markdown)
    texts, fences = [], []
    for token in tokens:
        if token.type == "fence":
            fences.append(token.info)
        for child in token.children or []:
            if child.type == "text":
                texts.append(child.content)
    return "\n".join(texts), fences


@pytest.mark.parametrize("chapter", sorted(BOOK.glob("*.ipynb")), ids=lambda path: path.name)
def test_a_chapters_student_version_renders_without_myst(chapter, book_index):
    student = student_version(nbformat.read(chapter, as_version=4), str(chapter), book_index)
    markdown = "\n\n".join(cell.source for cell in student.cells if cell.cell_type == "markdown")
    text, fences = rendered_text(markdown)
    assert not RAW_MYST.findall(text), f"{chapter.name}: raw MyST {RAW_MYST.findall(text)[:5]}"
    assert not [info for info in fences if info.startswith("{")], chapter.name
    assert re.search(r"^#{2,6} Exercise \d+\.\d+ \(", markdown, re.MULTILINE), chapter.name


@pytest.mark.book
def test_the_student_versions_number_as_the_html_does(book_index, built_book):
    """Exercises, statements, figures, equations and sections carry the numbers of the built
    HTML, and every citation reads as the HTML writes it."""
    from book_site import HTML

    for chapter in sorted(BOOK.glob("*.ipynb")):
        page = (HTML / "book" / f"{chapter.stem}.html").read_text(encoding="utf-8")
        page = page[page.index("<main"):]
        nb = nbformat.read(chapter, as_version=4)
        markdown = "\n\n".join(cell.source for cell in student_version(nb, str(chapter),
                                                                       book_index).cells
                               if cell.cell_type == "markdown")
        html_numbered = [number.strip() for number in
                         re.findall(r'class="caption-number">([^<]*)<', page)]
        ours = [a or b for a, b in re.findall(
            r"^#+ (Exercise [\d.]+)|^\*\*((?:[A-Z][a-z]+ |Fig\. )[\d.]+)[. ]", markdown,
            re.MULTILINE)]
        assert html_numbered and ours == html_numbered, chapter.name
        assert re.findall(r"\\tag\{([\d.]+)\}", markdown) == \
            re.findall(r'class="eqno">\(([\d.]+)\)', page), chapter.name
        assert re.findall(r"^#+ ([\d.]+)\. ", markdown, re.MULTILINE) == \
            re.findall(r'<h[1-6]><span class="section-number">([\d.]+)\.\s*</span>', page)
        instructor = "\n\n".join(Converter(book_index, f"book/{chapter.stem}",
                                           book_index.documents[f"book/{chapter.stem}"].number)
                                 .markdown(cell.source)
                                 for cell in nb.cells if cell.cell_type == "markdown")
        for citation in re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', page,
                                   re.DOTALL):
            text = html.unescape(re.sub(r"<em>(.*?)</em>", r"*\1*", citation))
            # the HTML ties a surname of two words with a no-break space ("Van Loan")
            text = text.replace("\xa0", " ")
            assert re.sub(r"<[^>]+>", "", text) in instructor, chapter.name


# ---------------------------------------------------------------- nbgrader itself


def book_chapters():
    return {path.name: nbformat.read(path, as_version=4) for path in sorted(BOOK.glob("*.ipynb"))}


@pytest.fixture(scope="module")
def book_index():
    return BookIndex.of_book(ROOT)


def chapter_version(transform, name, nb, book):
    """``transform`` of a chapter (with the book's numbers) or of the small notebook."""
    if name == "small.ipynb":
        return transform(nb, name)
    return transform(nb, str(BOOK / name), book)


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory, book_index):
    """nbgrader's generate_assignment run on the small notebook and every chapter."""
    pytest.importorskip("nbgrader")
    course = tmp_path_factory.mktemp("course")
    source = course / "source" / "ps1"
    source.mkdir(parents=True)
    notebooks = {"small.ipynb": instructor_notebook(), **book_chapters()}
    for name, nb in notebooks.items():
        nbformat.write(chapter_version(nbgrader_source, name, nb, book_index), source / name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'optdl'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'\n")
    # nbgrader runs the `alembic` command of its environment: put that environment on PATH
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ps1",
                             "--force"], cwd=course, capture_output=True, text=True,
                            env={**os.environ, "PATH": path})
    assert result.returncode == 0, result.stdout + result.stderr
    return course / "release" / "ps1", notebooks


def test_nbgrader_releases_exactly_the_student_version(nbgrader_release, book_index):
    release, notebooks = nbgrader_release
    for name, nb in notebooks.items():
        theirs = nbformat.read(release / name, as_version=4)
        ours = chapter_version(student_version, name, nb, book_index)
        assert [cell.source for cell in theirs.cells] == [cell.source for cell in ours.cells], name
        for text in solution_texts(nb, name):
            assert text not in sources(theirs), f"{name}: nbgrader's release shows\n{text}"


def test_the_nbgrader_source_keeps_what_nbgrader_grades(instructor):
    source = sources(nbgrader_source(instructor))
    for kept in ["x - lr * g", "(kappa - 1) / (kappa + 1)", "a hidden assertion",
                 "the secret derivation"]:
        assert kept in source
    for gone in ["the nested secret", "colon-fenced secret", "gated secret", "secret remark"]:
        assert gone not in source


# ---------------------------------------------------------------- the book's chapters


def chapters_with_exercises():
    found = []
    for path in sorted(BOOK.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(CHECK_CALL.search(cell.source) for cell in nb.cells if cell.cell_type == "code"):
            found.append(path)
    return found or [pytest.param(None, marks=pytest.mark.skip(
        reason="no notebook in book/ has exercises with checks yet"))]


@pytest.mark.parametrize("chapter", chapters_with_exercises(),
                         ids=lambda path: path.name if path else "none")
def test_no_solution_survives_in_a_chapters_student_version(chapter, book_index):
    nb = nbformat.read(chapter, as_version=4)
    student = student_version(nb, str(chapter), book_index)
    found = solution_texts(nb, chapter.name)
    assert found, f"{chapter.name} calls checks but marks no solution"
    for text in found:
        assert text not in sources(student), f"{chapter.name}: a solution survived:\n{text}"
    assert not any(cell.outputs for cell in student.cells if cell.cell_type == "code")


@pytest.mark.book
@pytest.mark.parametrize("chapter", chapters_with_exercises(),
                         ids=lambda path: path.name if path else "none")
def test_a_chapters_student_version_raises_only_the_stubs(chapter, tmp_path, book_index):
    student = student_version(nbformat.read(chapter, as_version=4), str(chapter), book_index)
    workdir = tmp_path / "book"
    shutil.copytree(BOOK, workdir, ignore=shutil.ignore_patterns("*.ipynb", "_build"))
    ran = execute(student, workdir)
    unexpected = [error for error in errors(ran) if error[1] != "NotImplementedError"]
    assert not unexpected, f"{chapter.name}: errors other than the stubs': {unexpected}"
    checks = check_cells(ran)
    assert checks
    for cell in checks:
        assert "not answered yet" in printed(cell), (
            f"{chapter.name}: a check did not say 'not answered yet':\n{cell.source}\n"
            + json.dumps(cell.outputs)[:500])
