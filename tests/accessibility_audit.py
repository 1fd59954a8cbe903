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

    return _described(Axe().run(page, options=options).response["violations"])


def _described(results):
    return [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [" ".join(map(str, node["target"])) + ": " + _finding(node)
                   for node in v["nodes"]]}
        for v in results
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
    """The audit of a loaded page: axe-core's WCAG violations and the code it could not
    settle (``wcag_audit``), every image's alt text and every kernel-free figure's name."""
    violations, unsettled_code = wcag_audit(page)
    return {
        "violations": violations,
        "unsettled_code": unsettled_code,
        "images": page.evaluate(IMAGES),
        "figures": page.evaluate(FIGURE_NAMES),
    }


# The code blocks' text. A chapter page holds ten thousand token spans in a few dozen
# appearances; axe-core's colour-contrast rule, checking each span on its own, would spend
# two thirds of the audit on them. The contrast of a text is decided by its colour, its
# size and weight (large text needs 3:1, other text 4.5:1), its shadow, and what is painted
# behind it: the backgrounds, opacities, filters and pseudo-elements of it and its
# ancestors; axe also sets aside a failing text of one character, and text of emoji alone.
# Of the texts in code blocks that are plainly shown (visible, and inside every box that
# clips them), the first of each appearance is kept for the rule and the others are marked
# as its twins, which the rule then skips. Every other rule sees every element.
MARK_CODE_TWINS = r"""() => {
    const painted = el => {
        const s = getComputedStyle(el);
        const pseudo = ["::before", "::after"].map(p => getComputedStyle(el, p).content);
        return [s.backgroundColor, s.backgroundImage, s.opacity, s.filter, s.mixBlendMode,
                s.clipPath, ...pseudo].join(",");
    };
    const behind = new Map();
    const backdrop = el => {
        if (!el) return "";
        if (!behind.has(el)) behind.set(el, painted(el) + " > " + backdrop(el.parentElement));
        return behind.get(el);
    };
    const clips = el => getComputedStyle(el).overflow !== "visible";
    const inside = (inner, outer) => inner.left >= outer.left && inner.right <= outer.right
        && inner.top >= outer.top && inner.bottom <= outer.bottom;
    const plainlyShown = el => {
        if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
        const box = el.getBoundingClientRect();
        if (!box.width || !box.height) return false;
        for (let up = el.parentElement; up; up = up.parentElement) {
            if (clips(up) && !inside(box, up.getBoundingClientRect())) return false;
        }
        return true;
    };
    // axe leaves a failing one-character text unsettled, and text of emoji alone unjudged
    const ownText = el => Array.from(el.childNodes)
        .filter(node => node.nodeType === Node.TEXT_NODE)
        .map(node => node.textContent).join("").replace(/\s+/g, " ").trim();
    const textKind = text => /[\u{10000}-\u{10FFFF}]/u.test(text) ? "wide: " + text
        : text.length === 1 ? "one character" : "longer";
    const kept = new Set();
    let twins = 0;
    for (const el of document.querySelectorAll("div.highlight *")) {
        const text = ownText(el);
        if (!text || !plainlyShown(el)) continue;
        const s = getComputedStyle(el);
        const key = [textKind(text), s.color, s.fontSize, s.fontWeight, s.textShadow,
                     s.webkitTextStroke, painted(el), backdrop(el.parentElement)].join(" | ");
        if (kept.has(key)) {
            el.setAttribute("data-contrast-twin", "");
            twins++;
        } else {
            kept.add(key);
        }
    }
    return {kept: kept.size, twins};
}"""
UNMARK_CODE_TWINS = """() => document.querySelectorAll("[data-contrast-twin]")
    .forEach(el => el.removeAttribute("data-contrast-twin"))"""
# axe-core with the colour-contrast rule told to skip the twins; what it found, and the
# code whose contrast it could not settle (an "incomplete" result: a background it cannot
# tell), which would leave that text's twins unchecked.
RUN_AXE = """async options => {
    axe.configure({rules: [{id: "color-contrast", selector: "*:not([data-contrast-twin])"}]});
    const results = await axe.run(document, options);
    const unsettled = results.incomplete.filter(r => r.id === "color-contrast")
        .flatMap(r => r.nodes.map(node => node.target[node.target.length - 1]))
        .filter(target => document.querySelector(target)?.closest("div.highlight"));
    return {violations: results.violations, unsettled};
}"""


def wcag_audit(page):
    """axe-core's WCAG violations on the open page, the colour contrast of its code checked
    once per appearance (MARK_CODE_TWINS); and the code texts whose contrast axe could not
    settle."""
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate(Axe().axe_script)
    page.evaluate(MARK_CODE_TWINS)
    try:
        found = page.evaluate(RUN_AXE, {**AXE_WCAG, "resultTypes": ["violations", "incomplete"]})
    finally:
        page.evaluate(UNMARK_CODE_TWINS)
    return _described(found["violations"]), found["unsettled"]


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
