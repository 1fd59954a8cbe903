"""Accessibility: figures readable without colour, the bibliography as a list, and every
built page clean under axe-core with every image described.

The colour and extension tests run with the library's tests. The others open
Chromium (marker ``book``): every page of the built book is audited by axe-core
(WCAG 2.0 and 2.1, levels A and AA) and written to _build/accessibility/axe.json,
every violation included (in code, the colour contrast once per appearance); the test
fails on the serious and critical ones. The
kernel-free figures' own checks are in test_kernel_free_figures.py.
"""

import itertools
import json
from html.parser import HTMLParser

import matplotlib
import nbformat
import numpy as np
import pytest
from accessibility_audit import (
    AXE_WCAG,
    audit_site,
    axe_violations,
    failing,
    offline_page,
    summary,
    undescribed_images,
    unnamed_figures,
    wcag_audit,
)
from book_site import BUILD, EXTENSIONS, build, pages_with
from colorspacious import cspace_convert, deltaE
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

import optlib as ol
from optlib import plotting

# ---------------------------------------------------------------- colour

#: The three dichromacies, simulated at full severity with the matrices of
#: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for
#: simulation of color vision deficiency", IEEE TVCG 15(6), as colorspacious
#: implements them (in linear sRGB).
DICHROMACIES = ("protanomaly", "deuteranomaly", "tritanomaly")

#: The smallest colour difference two palette colours may have, in CAM02-UCS
#: units (Luo, Cui & Li 2006), as a reader with each dichromacy sees them.
#: About one unit is a just-noticeable difference between large patches; lines
#: and markers are small, and discrimination falls with the size of a mark
#: (Stone, Szafir & Setlur 2014), so the floor is ten times that. It separates
#: palettes that fail from ones that pass: matplotlib's first seven tab10
#: colours have pairs 1.6 apart for a protanope (orange, green), 5.2 for a
#: deuteranope (green, red) and 9.4 for a tritanope (orange, pink).
MIN_DELTA_E = 10.0


def as_seen_with(colors, dichromacy):
    """The sRGB colours (values in [0, 1]) a reader with ``dichromacy`` sees."""
    rgb = np.array([to_rgb(color) for color in colors])
    if dichromacy is None:
        return rgb
    space = {"name": "sRGB1+CVD", "cvd_type": dichromacy, "severity": 100}
    return np.clip(cspace_convert(rgb, space, "sRGB1"), 0.0, 1.0)


def closest_pair(colors, dichromacy):
    """(distance, colour, colour): the two colours of ``colors`` that look most alike."""
    seen = as_seen_with(colors, dichromacy)
    return min(
        (float(deltaE(seen[i], seen[j], input_space="sRGB1", uniform_space="CAM02-UCS")),
         colors[i], colors[j])
        for i, j in itertools.combinations(range(len(colors)), 2)
    )


@pytest.mark.parametrize("dichromacy", [None, *DICHROMACIES])
def test_house_palette_stays_distinguishable(dichromacy):
    distance, first, second = closest_pair(plotting.PALETTE, dichromacy)
    assert distance >= MIN_DELTA_E, f"{first} and {second} are {distance:.1f} apart"


@pytest.mark.parametrize("dichromacy", DICHROMACIES)
def test_the_palette_check_catches_a_palette_that_confuses(dichromacy):
    tab10 = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors[:7]]
    assert closest_pair(tab10, dichromacy)[0] < MIN_DELTA_E


def dash_pattern(line):
    """A line's dash pattern (offset, on-off lengths) as set, before scaling by its width.

    matplotlib has no public getter: ``get_linestyle`` says "--" for every
    custom pattern.
    """
    offset, dashes = line._unscaled_dash_pattern
    return offset, tuple(dashes) if dashes else None


def looks(lines):
    """How each line looks apart from its colour: (dash pattern, marker)."""
    return [(dash_pattern(line), line.get_marker()) for line in lines]


def test_house_style_pairs_every_colour_with_its_own_line_style():
    cycle = list(plotting.HOUSE_STYLE["axes.prop_cycle"])
    assert [entry["color"] for entry in cycle] == list(plotting.PALETTE)
    assert [entry["linestyle"] for entry in cycle] == list(plotting.LINESTYLES)
    with matplotlib.rc_context(plotting.HOUSE_STYLE):
        ax = Figure().subplots()
        lines = [ax.plot([0, 1], [0, k])[0] for k in range(len(plotting.PALETTE))]
    assert [line.get_color() for line in lines] == list(plotting.PALETTE)
    assert len(set(looks(lines))) == len(lines), looks(lines)


def test_runs_in_one_panel_differ_by_more_than_colour():
    f = ol.functions.rosenbrock()
    runs = {name: ol.minimize(f, [-1.2, 1.0], method, steps=20)
            for name, method in [("GD", ol.sgd(1e-3)), ("momentum", ol.sgd(1e-3, momentum=0.9)),
                                 ("Adam", ol.adam(0.05)), ("RMSProp", ol.rmsprop(0.01))]}
    left, right = Figure().subplots(1, 2)
    paths = plotting.trajectories(f, runs, ax=left, contours=False)
    losses = plotting.loss_curves(runs, ax=right, f_star=f)
    for lines in (paths, losses):
        assert len(set(looks(lines.values()))) == len(runs), looks(lines.values())
    assert looks(paths.values())[0] != looks(paths.values())[1]
    assert [line.get_color() for line in losses.values()] == list(plotting.PALETTE[:len(runs)])


# ---------------------------------------------------------------- the book's Sphinx extension

CITING_PAGE = """Citing
======

Two works [Cauchy1847]_ [Armijo1966]_.

.. [Cauchy1847] A.-L. Cauchy. Méthode générale. 1847.
.. [Armijo1966] L. Armijo. Minimization of functions. 1966.
"""


class _Roles(HTMLParser):
    """The role of each citation list and of each of its children, in document order."""

    def __init__(self):
        super().__init__()
        self.lists, self.depth, self.open = [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div":
            if self.open and self.depth == self.open[-1] + 1:
                self.lists[-1]["children"].append(attrs.get("role"))
            if "citation-list" in (attrs.get("class") or "").split():
                self.lists.append({"role": attrs.get("role"), "children": []})
                self.open.append(self.depth)
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "div":
            self.depth -= 1
            if self.open and self.depth == self.open[-1]:
                self.open.pop()


def citation_roles(tmp_path, extensions):
    """Build a one-page Sphinx project that cites two works; the roles of its citation lists."""
    from sphinx.application import Sphinx

    source = tmp_path / "source"
    source.mkdir()
    (source / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXTENSIONS)!r})\n"
                                    f"extensions = {extensions!r}\nhtml_theme = 'basic'\n")
    (source / "index.rst").write_text(CITING_PAGE)
    app = Sphinx(source, source, tmp_path / "html", tmp_path / "doctrees", "html",
                 status=None, warning=None, freshenv=True)
    app.build()
    roles = _Roles()
    roles.feed((tmp_path / "html" / "index.html").read_text(encoding="utf-8"))
    return roles.lists


def test_the_bibliography_is_a_list_of_list_items(tmp_path):
    assert citation_roles(tmp_path, ["optlib_a11y"]) == [
        {"role": "list", "children": ["listitem", "listitem"]}]


def test_without_the_extension_docutils_writes_the_deprecated_role(tmp_path):
    """When docutils stops writing doc-biblioentry, _ext/optlib_a11y.py can go."""
    assert citation_roles(tmp_path, []) == [
        {"role": "list", "children": ["doc-biblioentry", "doc-biblioentry"]}]


# ---------------------------------------------------------------- the built book

AXE_REPORT = BUILD / "accessibility" / "axe.json"


@pytest.fixture(scope="module")
def audits(visits):
    """axe-core's audit of every built page that is not a redirect, from the one visit
    of each page (conftest.visits)."""
    audits = {page: visit.audit for page, visit in visits.items() if visit.audit is not None}
    AXE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    AXE_REPORT.write_text(json.dumps(
        {page: record["violations"] for page, record in audits.items()}, indent=1,
        ensure_ascii=False))
    return audits


@pytest.mark.book
def test_every_page_passes_axe_core(audits):
    """No serious or critical WCAG 2.1 A/AA violation on any page (all are in AXE_REPORT)."""
    assert audits, "no pages audited"
    problems = pages_with(audits, lambda record: failing(record["violations"]))
    assert problems == {}, f"all violations by (rule, impact): {summary(audits)}"


@pytest.mark.book
def test_axe_settles_the_contrast_of_every_kind_of_code_text(audits):
    """The colour contrast of code is checked on one text of each appearance (see
    accessibility_audit.MARK_CODE_TWINS); one that axe leaves unsettled would leave its
    twins unchecked. A failing text of one character is left unsettled too."""
    assert pages_with(audits, lambda record: record["unsettled_code"]) == {}


@pytest.mark.book
def test_every_image_is_described(audits):
    assert pages_with(audits, undescribed_images) == {}


@pytest.mark.book
def test_every_kernel_free_figure_is_described(audits):
    assert pages_with(audits, unnamed_figures) == {}




# ---------------------------------------------------------------- the checks, on a small book

#: A code block whose faint tokens fail the contrast of normal text (about 1.9:1 on #f8f8f8),
#: in one appearance and three texts: "x" (one character), "= 1" and "faint text".
CODE_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Code</title><style>
  .highlight { background: #f8f8f8; } .k { color: #007020; } .n { color: #333333; }
  .faint { color: #bbbbbb; }
</style></head><body><main><h1>Code</h1>
<div class="highlight"><pre><span class="k">import</span> <span class="n">numpy</span>
<span class="k">import</span> <span class="n">scipy</span> <span class="faint">x</span> <span
class="faint">= 1</span> <span class="faint">faint text</span></pre></div>
<p>Text outside the code.</p></main></body></html>"""


@pytest.mark.book
def test_code_contrast_once_per_appearance_finds_what_every_span_finds(browser):
    """axe on every span finds the faint appearance failing in two texts (the one-character
    one unsettled); the audit finds it once, names the unsettled one, and leaves the page's
    elements as they were."""
    page = offline_page(browser)
    page.set_content(CODE_PAGE)
    every_span = axe_violations(page, AXE_WCAG)
    assert [(v["rule"], len(v["nodes"])) for v in every_span] == [("color-contrast", 2)]
    violations, unsettled = wcag_audit(page)
    ((rule, nodes),) = [(v["rule"], v["nodes"]) for v in violations]
    assert rule == "color-contrast" and len(nodes) == 1 and "#bbbbbb" in nodes[0]
    assert len(unsettled) == 1 and ".faint" in unsettled[0]
    assert page.evaluate("document.querySelectorAll('[data-contrast-twin]').length") == 0
    page.evaluate("document.querySelectorAll('.faint').forEach(e => e.remove())")
    assert wcag_audit(page) == ([], [])
    page.context.close()



FIGURE_CELL = """import matplotlib.pyplot as plt
plt.plot([0, 1], [1, 0])
plt.show()"""
SCRUB_CELL = """import optlib as ol
from matplotlib.figure import Figure

def render(value):
    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1], [0, value])
    return fig

ol.widgets.scrub(render, [1, 2], label="slope", alt="A line that steepens.")"""
SMALL_BOOK_CONFIG = """title: Figures
only_build_toc_files: true
execute:
  execute_notebooks: force
sphinx:
  config:
    nb_ipywidgets_js: {}
    html_context:
      default_mode: light
"""


@pytest.mark.book
def test_the_image_checks_tell_described_figures_from_undescribed_ones(browser, tmp_path):
    """A notebook with a described figure, an undescribed one and a kernel-free figure,
    built as a book: the checks flag exactly the undescribed figure."""
    described = nbformat.v4.new_code_cell(FIGURE_CELL)
    described.metadata["mystnb"] = {"image": {"alt": "A line falling from 1 to 0."}}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Figures"), described,
        nbformat.v4.new_code_cell(FIGURE_CELL), nbformat.v4.new_code_cell(SCRUB_CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "figures.ipynb")
    (tmp_path / "_config.yml").write_text(SMALL_BOOK_CONFIG)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: figures\n")
    result = build(tmp_path, flags=("--keep-going",))
    assert result.returncode == 0, result.stdout + result.stderr

    record = audit_site(browser, tmp_path / "_build" / "html")["figures.html"]
    alts = [image["alt"] for image in record["images"]]
    assert alts[0] == "A line falling from 1 to 0." and alts[2] == "Frame for slope = 1"
    (problem,) = undescribed_images(record)
    assert problem.startswith("alt text is a file path: ") and "_images/" in problem
    assert record["figures"] == ["A line that steepens."] and unnamed_figures(record) == []
