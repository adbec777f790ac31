"""A newcomer on the competition's page in a real headless Chromium: the phase, its countdown
and the timeline in view, the organizers' pages as tabs; screenshots of each tab, the home page
and the admin phases page at 1280 and 390 px (test-artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from app.models.base import utcnow
from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import ORGANIZER, Live, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

NewPage = Callable[[], "Page"]
TABS = ("Overview", "Data", "Evaluation", "Terms", "Leaderboard", "Submit", "My submissions")


def _organizer_sets_the_end(page: Page) -> str:
    """The organizer ends Development in three days, on the phases page; the date typed."""
    page.goto("/login")
    page.fill("#email", ORGANIZER)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")
    page.goto("/competitions/mico/admin/phases")
    development = page.locator("section.card", has=page.locator("h2", has_text="Development"))
    ends = f"{utcnow() + timedelta(days=3):%Y-%m-%d %H:%M}"
    development.locator("input[name=ends_at]").fill(ends)
    development.locator("button", has_text="Save Development").click()
    page.wait_for_selector(".notice.flash:has-text('Development saved')")
    return ends


def test_a_newcomer_sees_the_phase_its_countdown_the_timeline_and_the_tabs(
    new_page: NewPage,
) -> None:
    organizer = new_page()
    ends = _organizer_sets_the_end(organizer)
    cards = organizer.locator("section.card h2 .badge").all_inner_texts()
    assert cards == ["running", "scheduled"]
    assert organizer.locator("button", has_text="Open now").count() == 1  # Final's only
    assert organizer.locator("button", has_text="Close now").count() == 1  # Development's
    screenshot(organizer, "tabs-admin-phases")
    organizer.goto("/competitions/mico/admin")
    screenshot(organizer, "tabs-competition-admin")

    page = new_page()
    page.goto("/")
    card = page.locator("#competition-mico")
    assert "Development is running" in card.inner_text()
    assert re.search(r"Participants\s*\d+", card.inner_text())
    screenshot(page, "tabs-home")
    page.click("#competition-mico h2 a")
    now = page.locator("#phase-now")
    assert f"{ends} UTC" in now.inner_text()
    assert re.search(r"\(ends in 2 d 23 h|\(ends in 3 d 0 h", now.inner_text()), now.inner_text()
    assert "your time:" in now.inner_text()
    timeline = page.locator("#timeline li")
    assert timeline.count() == 2
    assert timeline.nth(0).locator(".badge").inner_text() == "running"
    assert timeline.nth(1).locator(".badge").inner_text() == "scheduled"
    for title in TABS:
        page.click(f"nav.comp-tabs a:text-is('{title}')")
        current = page.locator("nav.comp-tabs a[aria-current=page]")
        assert current.inner_text() == title
        assert "Development is running" in page.inner_text("#phase-now")  # on every tab
        screenshot(page, f"tabs-competition-{title.lower().replace(' ', '-')}")
    page.reload()  # a tab is a page: it reloads as itself
    assert page.locator("nav.comp-tabs a[aria-current=page]").inner_text() == "My submissions"


def test_without_javascript_the_dates_stay_plain_utc(chromium: Browser, live: Live) -> None:
    context = chromium.new_context(base_url=live.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/competitions/mico")
    text = page.inner_text("#timeline")
    assert re.search(r"From \d{4}-\d\d-\d\d \d\d:\d\d UTC", text) and "your time" not in text
    context.close()
