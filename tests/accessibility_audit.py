"""Accessibility audits in Chromium, shared by the accessibility tests.

axe-core (bundled by axe-playwright-python) runs on an open page with the WCAG
2.0/2.1 A and AA rules, optionally with its best practices; ``audit_site``
opens every page of a built book offline and records axe's violations, every
image's alt text and every kernel-free figure's name.
"""

import contextlib
import re
from urllib.parse import urlsplit

import pytest
from book_site import CHROMIUM_ARGS, built_pages, chromium, is_redirect, running_in_ci, serve

#: The axe-core rules that test WCAG 2.0 and 2.1 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_WCAG = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
#: The same plus axe's best practices (landmarks, heading order, ...).
AXE_ALL = {"runOnly": {"type": "tag", "values": [*WCAG_TAGS, "best-practice"]},
           "resultTypes": ["violations"]}
FAILING_IMPACTS = {"serious", "critical"}
#: A chapter page takes seconds to load and typeset on two busy cores; allow a minute.
PAGE_TIMEOUT_MS = 60_000


@contextlib.contextmanager
def chromium_browser():
    """Headless Chromium, offline; skips the test without a ``chromium`` (fails under CI)."""
    executable = chromium()
    if executable is None:
        message = "no `chromium` on PATH (Debian: apt-get install chromium)"
        if running_in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def offline_page(browser, allowed_host=None):
    """A new page in its own context whose requests to any other host are refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    context.route("**/*", lambda route: route.continue_()
                  if allowed_host and urlsplit(route.request.url).netloc == allowed_host
                  else route.abort())
    return context.new_page()


def axe_violations(page, options):
    """axe-core's violations on the open page: rule, impact, help, and the nodes, each as
    its CSS selector and what axe found there (colours and ratio, missing roles, ...)."""
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(page, options=options).response
    return [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [" ".join(map(str, node["target"])) + ": " + _finding(node)
                   for node in v["nodes"]]}
        for v in response["violations"]
    ]


def _finding(node):
    checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
    return "; ".join(check["message"] for check in checks if check.get("message"))


def failing(violations):
    return [v for v in violations if v["impact"] in FAILING_IMPACTS]


# ---------------------------------------------------------------- a built site

# Wait for MathJax, so that axe sees the typeset maths a reader gets.
WAIT_FOR_MATHJAX = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
}"""

# Every image as a screen reader gets it, and every kernel-free figure's name.
IMAGES = """() => Array.from(document.images).map(img => ({
    alt: img.getAttribute("alt"), src: (img.getAttribute("src") || "").slice(0, 60)}))"""
FIGURE_NAMES = """() => Array.from(document.querySelectorAll(".optlib-scrub"))
    .map(figure => figure.getAttribute("aria-label"))"""

#: Alt text that only names a file: what Sphinx and myst-nb write when a figure has none.
FILE_PATH = re.compile(r"(_images/|\.(png|jpe?g|gif|svg|webp)\s*$)", re.IGNORECASE)
#: The name a kernel-free figure gets when its chapter gave it no ``alt``.
DEFAULT_FIGURE_NAME = "A figure with a slider: "


def audit_site(browser, html_dir):
    """Open every page of the site in ``html_dir`` and audit it: {page: record}.

    A record has axe-core's WCAG violations, the images (alt, src) and the
    kernel-free figures' names. Pages that only redirect are left out (the page
    they lead to is audited).
    """
    with serve(html_dir) as base_url:
        return {
            page: audit_page(browser, base_url + page)
            for page in built_pages(html_dir)
            if not is_redirect(html_dir / page)
        }


def audit_page(browser, url):
    page = offline_page(browser, allowed_host=urlsplit(url).netloc)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(url, wait_until="load")
        page.evaluate(WAIT_FOR_MATHJAX)
        return audit_open_page(page)
    finally:
        page.context.close()


def audit_open_page(page):
    """The audit of a loaded page: axe-core's WCAG violations, every image's alt text and
    every kernel-free figure's name."""
    return {
        "violations": axe_violations(page, AXE_WCAG),
        "images": page.evaluate(IMAGES),
        "figures": page.evaluate(FIGURE_NAMES),
    }


def bad_alt(alt):
    """What is wrong with an image's alt text, or None."""
    if alt is None:
        return "no alt attribute"
    if not alt.strip():
        return "empty alt text"
    if FILE_PATH.search(alt):
        return f"alt text is a file path: {alt[:60]}"
    return None


def undescribed_images(record):
    return [f"{problem} (src {image['src']})" for image in record["images"]
            if (problem := bad_alt(image["alt"]))]


def unnamed_figures(record):
    return [name for name in record["figures"] if not name or name.startswith(DEFAULT_FIGURE_NAME)]


def summary(audits):
    """Violations counted by (rule, impact) over all pages: the report printed on failure."""
    counts = {}
    for record in audits.values():
        for v in record["violations"]:
            counts[v["rule"], v["impact"]] = counts.get((v["rule"], v["impact"]), 0) + len(
                v["nodes"])
    return counts
