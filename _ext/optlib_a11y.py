"""Sphinx extension of the book: HTML that assistive technology reads as intended.

docutils writes each bibliography as ``<div role="list">`` holding entries
with the DPUB-ARIA role ``doc-biblioentry``. DPUB-ARIA 1.1 deprecates that
role, and a list whose children are not list items is announced as an empty
list (axe-core: aria-required-children, critical; aria-deprecated-role). Here
each entry is a ``role="listitem"`` of its list instead.

Listed in ``_config.yml`` (``sphinx.local_extensions`` puts this folder on
the path, ``sphinx.config.extensions`` loads it). pydata-sphinx-theme wraps
whatever HTML translator is registered, so the theme's own markup is kept.
"""

from sphinx.writers.html5 import HTML5Translator


class AccessibleHTMLTranslator(HTML5Translator):
    """Sphinx's HTML5 translator with bibliography entries as list items."""

    def visit_citation(self, node):
        if not isinstance(node.previous_sibling(), type(node)):
            self.body.append('<div role="list" class="citation-list">\n')
        self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def setup(app):
    app.set_translator("html", AccessibleHTMLTranslator)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
