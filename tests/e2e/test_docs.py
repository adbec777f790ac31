"""/docs and /redoc in a real headless Chromium cut off from the internet: every request to a
host other than the server's is blocked, and the API's operations still render."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.fixtures.live import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
LOCAL = {"127.0.0.1", "localhost"}
UPLOAD = "/api/v1/competitions/{slug}/tracks/{track}/submissions"


def _offline(page: Page) -> list[str]:
    """Block every request off the server; the list of those that were tried."""
    blocked: list[str] = []

    def handle(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return blocked


def test_swagger_ui_renders_the_operations_without_the_internet(new_page: NewPage) -> None:
    page = new_page()
    blocked = _offline(page)
    page.goto("/docs")
    page.locator(".opblock").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(p.replace("\u200b", "") == UPLOAD for p in paths), paths  # breaks may be shown
    assert page.locator(".opblock").count() > 20
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("mia-arena")
    screenshot(page, "api-docs")
    assert blocked == []


def test_redoc_renders_the_operations_without_the_internet(new_page: NewPage) -> None:
    page = new_page()
    blocked = _offline(page)
    page.goto("/redoc")
    page.locator("h2", has_text="Upload Api").first.wait_for()
    assert page.locator("h1", has_text="mia-arena").count() == 1
    assert blocked == []
