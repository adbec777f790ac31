"""Organizer-written Markdown to HTML that can never run script in a visitor's browser."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in the source is not passed through, and the result is sanitised anyway (nh3 keeps
# formatting tags and safe links only), so neither a <script> nor an onerror= survives.
_parser = MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """Safe HTML for a page written in Markdown."""
    return Markup(sanitise(_parser.render(text)))


def sanitise(html: str) -> str:
    """HTML with only formatting tags and http(s)/mailto links left."""
    return nh3.clean(html, url_schemes={"http", "https", "mailto"})
