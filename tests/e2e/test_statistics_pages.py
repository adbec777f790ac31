"""A track's statistics and analysis in a real headless Chromium, reached from the
leaderboard's tabs: the figures, both charts over time, the scenarios' spread and its
downloads; final is the organizer's alone until the reveal. Screenshots at 1280 and 390 px
(test-artifacts/screenshots/), neither of which scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import ORGANIZER, Live, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
BOARD = "/competitions/mico/tracks/cifar10/leaderboard"


def _visible_chart(page: Page, selector: str) -> None:
    """The chart is drawn, at a width one can read it."""
    chart = page.locator(f"{selector} svg")
    chart.wait_for()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 250 and box["height"] > 150, (selector, box)


def test_the_statistics_and_analysis_pages_from_the_leaderboards_tabs(
    new_page: NewPage, live: Live
) -> None:
    page = new_page()
    page.goto(BOARD)
    page.click("#statistics-link")
    page.wait_for_url("**/statistics?split=dev")
    figures = page.locator("#figures tr.current")
    assert figures.locator("[data-figure=entries]").inner_text() == "2"  # grace's and linus's
    assert figures.locator("[data-figure=submitters]").inner_text() == "2"
    _visible_chart(page, "#per-day")
    _visible_chart(page, "#best")
    assert page.locator("#best .stat-point").count() >= 1
    screenshot(page, "statistics")

    page.click("nav[aria-label=View] a:has-text('Analysis')")
    page.wait_for_url("**/analysis?split=dev")
    _visible_chart(page, "#spread-chart")
    assert page.locator("#spread-chart .stat-dot").count() == 2 * 3  # two rows, three scenarios
    assert "Hardest:" in page.locator("#spread-chart figcaption").inner_text()
    with page.expect_download() as download:
        page.click("a:has-text('Chart PNG')")
    assert download.value.suggested_filename == "mico-cifar10-dev-scores.png"
    screenshot(page, "analysis")

    page.goto(BOARD.replace("leaderboard", "analysis") + "?split=final")
    assert page.locator("#not-yet").is_visible()  # a newcomer: final is hidden

    organizer = new_page()
    organizer.goto("/login")
    organizer.fill("#email", ORGANIZER)
    organizer.fill("#password", PASSWORD)
    organizer.click("button:has-text('Sign in')")
    organizer.wait_for_url("**/account")
    organizer.goto(BOARD.replace("leaderboard", "analysis") + "?split=final")
    _visible_chart(organizer, "#spread-chart")
    with organizer.expect_download() as download:
        organizer.click("a:has-text('LaTeX table')")
    assert download.value.suggested_filename == "mico-cifar10-final-results.tex"
    screenshot(organizer, "analysis-final-organizer")
