"""Organizer Markdown: formatting kept, anything that could run removed."""

from __future__ import annotations

from app.core.markdown import render_markdown, sanitise


def test_the_sanitiser_removes_script_handlers_and_javascript_links() -> None:
    """Even HTML that reaches the sanitiser directly comes out inert."""
    html = sanitise(
        '<p onclick="x()">hi <script>alert(1)</script><img src=x onerror=alert(1)>'
        '<a href="javascript:alert(2)">go</a><a href="https://mico.example">ok</a></p>'
    )
    assert "script" not in html and "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html and 'href="https://mico.example"' in html


def test_markdown_keeps_formatting_and_escapes_raw_html() -> None:
    """Headings, emphasis and tables render; raw HTML in the source is shown as text."""
    html = render_markdown("# Rules\n\n**fair** <b>x</b>\n\n| a |\n|---|\n| 1 |")
    assert "<h1>Rules</h1>" in html and "<strong>fair</strong>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<td>1</td>" in html
