"""After the reveal, in a real headless Chromium: a participant names her method and links it,
an organizer reveals the final results and announces the winners, and a visitor finds them on
the Results tab with the write-up links; screenshots at 1280 and 390 px, none scrolling
sideways (test-artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import ORGANIZER, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
WRITEUP = "https://arxiv.org/abs/2112.03570"
CODE = "https://github.com/example/grace-lira"


def _sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")


def _describe(page: Page) -> int:
    """grace names the method of her cifar10 submission, with a script in it and its links;
    the submission's id."""
    _sign_in(page, "grace@example.org")
    page.goto("/competitions/mico/tracks/cifar10/submissions")
    page.click("tbody tr td a")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    submission = int(page.url.rsplit("/", 1)[1])
    page.fill("#method_name", "LiRA <script>window.owned = 1</script>")
    page.fill("#writeup_url", "javascript:alert(1)")
    page.click("#save-method")
    assert "write-up URL: only http:// or https://" in page.inner_text("#method-error")
    page.fill("#writeup_url", WRITEUP)
    page.fill("#code_url", CODE)
    page.click("#save-method")
    page.wait_for_selector(".notice.flash:has-text('Method and links saved.')")
    assert page.inner_text("#method-shown .method") == "LiRA <script>window.owned = 1</script>"
    assert page.evaluate("window.owned") is None  # shown as text: nothing ran
    screenshot(page, "results-submission-method")
    return submission


def _reveal(page: Page) -> None:
    page.goto("/competitions/mico/admin/results")
    assert "not revealed yet" in page.inner_text("#reveal-first")
    screenshot(page, "results-admin-before-reveal")
    page.goto("/competitions/mico/tracks/cifar10/leaderboard?split=final")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reveal")
    page.wait_for_url(re.compile(r".*/competitions/mico(#tracks)?$"))


def _announce(page: Page, winner: int) -> None:
    """Winner grace, runner-up not awarded; an honourable mention left out."""
    page.goto("/competitions/mico/admin/results")
    card = page.locator("#results-cifar10")
    rows = card.locator(".award-row")
    assert rows.nth(0).locator("input[name=title]").input_value() == "Winner"
    rows.nth(0).locator("select[name=entry]").select_option(str(winner))
    rows.nth(1).locator("select[name=entry]").select_option("none")
    card.locator("button", has_text="Announce cifar10 awards").click()
    page.wait_for_selector(".notice.flash:has-text('Awards of cifar10 announced')")
    screenshot(page, "results-admin")


def test_an_organizer_reveals_and_announces_the_winners_and_visitors_see_them(
    new_page: NewPage,
) -> None:
    winner = _describe(new_page())
    organizer = new_page()
    _sign_in(organizer, ORGANIZER)
    _reveal(organizer)
    _announce(organizer, winner)

    visitor = new_page()
    visitor.goto("/competitions/mico")
    visitor.click("nav.comp-tabs a:text-is('Results')")
    visitor.wait_for_url("**/competitions/mico/results")
    section = visitor.locator("#results-cifar10")
    awards = section.locator("li.award")
    assert awards.count() == 2
    assert re.match(r"Winner:\s*grace", awards.nth(0).inner_text())
    assert re.match(r"Runner-up:\s*not awarded", awards.nth(1).inner_text())
    writeup = awards.nth(0).locator("a.writeup")
    assert writeup.get_attribute("href") == WRITEUP
    assert writeup.get_attribute("rel") == "nofollow noopener"
    assert awards.nth(0).locator("a.code").get_attribute("href") == CODE
    names = [r.split("\t")[1] for r in section.locator("tbody tr").all_inner_texts()]
    assert names == ["grace", "linus"]  # the final leaderboard beside the awards
    assert visitor.evaluate("window.owned") is None
    screenshot(visitor, "results-public")
