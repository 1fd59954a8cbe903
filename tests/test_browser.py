"""Every built page, opened in headless Chromium with no network, as a reader sees it.

Each page is visited once (the ``visits`` fixture, page_visit.py) and what
happened is recorded; the tests below assert on the records: no request leaves the
build, no console error, maths rendered, images loaded, kernel-free figures that
respond to their slider, a full-page screenshot under _build/screenshots/.

Without a ``chromium`` on PATH these tests skip, except under CI=true, where a
missing browser is a failure.
"""

from urllib.parse import urlsplit

import pytest
from book_site import HTML, ROOT, is_redirect, pages_with, screenshot_path, toc_files
from page_visit import MAX_CODE_LINE, SCRUB_SELECTOR

pytestmark = pytest.mark.book


def test_every_toc_page_was_opened(visits):
    assert {f"{f}.html" for f in toc_files()} <= set(visits)


def test_no_request_leaves_the_build(visits):
    assert pages_with(visits, lambda v: v.external_requests) == {}


def test_no_console_errors(visits):
    assert pages_with(visits, lambda v: v.console_errors) == {}


def test_every_local_resource_exists(visits):
    assert pages_with(visits, lambda v: v.failed_responses) == {}


def test_maths_is_rendered(visits):
    def problem(visit):
        maths = visit.maths
        if maths["sources"] and maths["typeset"] == 0:
            return f"{maths['sources']} formulas, none typeset"
        return maths["errors"] + maths["raw"]

    assert pages_with(visits, problem) == {}


def chapters():
    """The toc's notebooks: the chapters proper."""
    return [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


def test_redirects_land_on_a_page_of_the_book(visits):
    for page, record in visits.items():
        if is_redirect(HTML / page):
            landed = urlsplit(record.final_url).path.lstrip("/")
            assert landed in visits and not is_redirect(HTML / landed), (page, record.final_url)


def test_notation_and_chapters_have_typeset_maths(visits):
    for page in ["book/notation", *chapters()]:
        assert visits[f"{page}.html"].maths["typeset"] > 0, page


def test_every_image_loads(visits):
    assert pages_with(visits, lambda v: v.broken_images) == {}


def test_no_dead_widget_controls(visits):
    assert pages_with(visits, lambda v: v.dead_controls) == {}


def test_every_chapter_shows_its_explorer_as_a_snapshot(visits):
    """Each chapter has a live explorer; the HTML shows its note and a snapshot image."""
    assert chapters(), "no chapter notebooks in the toc"
    for chapter in chapters():
        explorers = visits[f"{chapter}.html"].static_explorers
        assert explorers, f"{chapter}: no explorer snapshot (.optlib-static-note)"
        assert all(images >= 1 for images in explorers), f"{chapter}: a note without a snapshot"


def test_kernel_free_figures_change_frame_when_slider_moves(visits):
    def problem(visit):
        return [
            f"figure {s.index}: slider={s.has_slider} frame={s.has_frame} "
            f"changed={s.before != s.after}"
            for s in visit.scrubs
            if not (s.has_slider and s.has_frame and s.before and s.before != s.after)
        ]

    assert pages_with(visits, problem) == {}


def test_every_chapter_has_a_kernel_free_figure(visits):
    assert chapters(), "no chapter notebooks in the toc"
    missing = [f for f in chapters() if not visits[f"{f}.html"].scrubs]
    assert not missing, f"chapters without a kernel-free figure ({SCRUB_SELECTOR}): {missing}"


def test_screenshot_of_every_page(visits):
    for page in visits:
        shot = screenshot_path(page)
        assert shot.read_bytes()[:3] == b"\xff\xd8\xff", shot   # a JPEG


def test_no_code_block_is_wider_than_the_column(visits):
    """At 1280 x 900 every code block fits the text column: no horizontal scrollbar."""
    assert pages_with(visits, lambda v: v.wide_code) == {}


def test_a_line_of_the_longest_allowed_length_fits_a_code_cell(visits):
    for chapter in chapters():
        assert visits[f"{chapter}.html"].longest_line_fits is True, (
            f"{chapter}: a {MAX_CODE_LINE}-character line does not fit a code cell")


def test_a_check_cell_shows_its_verdict_and_no_bare_true_or_false(visits):
    found = [check for chapter in chapters() for check in visits[f"{chapter}.html"].checks]
    assert found, "no check cell in any chapter"

    def problem(visit):
        return [f"{check.call}: {check.outputs if check.found else 'not found'}"
                for check in visit.checks
                if not check.found or not any(text.startswith("✓") for text in check.outputs)
                or {"True", "False"} & set(check.outputs)]

    assert pages_with(visits, problem) == {}


def test_every_coding_solution_is_folded_behind_show_solution(visits):
    """Closed by default, "Show solution" on the control, the code after one click."""
    found = [cell for chapter in chapters() for cell in visits[f"{chapter}.html"].solutions]
    assert found, "no coding exercise in any chapter"

    def problem(visit):
        return [f"{cell.first_line}: {cell}" for cell in visit.solutions
                if not (cell.found and cell.folded and cell.closed
                        and cell.prompt == "Show solution" and not cell.code_shown_closed
                        and cell.code_shown_open and cell.prompt_open == "Hide solution")]

    assert pages_with(visits, problem) == {}
