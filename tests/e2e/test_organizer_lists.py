"""In a real Chromium: an organizer pages through 5,000 submissions with a filter kept, opens
one and finds its submitter and exact scores; screenshots at 1280 and 390 px."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, insert, select

from app.models.phase import Phase
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import User
from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import ORGANIZER, Live, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
ADMIN = "/competitions/mico/admin"


def _seed(live: Live, count: int) -> None:
    """`count` more submissions of grace and linus, in one insert into the server's database."""
    engine = create_engine(f"sqlite:///{live.log.parent / 'arena.sqlite3'}")
    with engine.begin() as db:
        track = db.scalars(select(Track.id).where(Track.name == "cifar10")).one()
        phase = db.scalars(select(Phase.id).where(Phase.name == "Development")).one()
        people = db.scalars(select(User.id).where(User.display_name.in_(["grace", "linus"])))
        grace, linus = sorted(people)
        db.execute(
            insert(Submission),
            [
                {
                    "user_id": (grace, linus)[i % 2],
                    "track_id": track,
                    "phase_id": phase,
                    "zip_bytes": b"",
                    "sha256": f"{i:064x}",
                    "size": 100,
                    "description": "",
                    "status": SubmissionStatus.FAILED if i % 3 == 2 else SubmissionStatus.SCORED,
                }
                for i in range(count)
            ],
        )
    engine.dispose()


def test_an_organizer_pages_through_five_thousand_submissions(
    new_page: NewPage, live: Live
) -> None:
    _seed(live, 5000)
    page = new_page()
    page.goto("/login")
    page.fill("#email", ORGANIZER)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")

    page.goto(f"{ADMIN}/submissions")
    assert "of 5,002 submissions" in page.inner_text(".pager-count")
    assert page.locator("tbody tr").count() == 50
    screenshot(page, "admin-submissions-page-1")
    page.locator("a[rel=last]").first.click()
    page.wait_for_url(re.compile(r".*page=101$"))
    assert page.locator("tbody tr").count() == 2  # the two seeded scored ones
    assert "5,001–5,002 of 5,002" in page.inner_text(".pager-count")

    page.goto(f"{ADMIN}/submissions")
    page.select_option("select[name=status]", "scored")
    page.fill("input[name=participant]", "grace")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r".*participant=grace.*"))
    page.locator("a[rel=next]").first.click()
    page.wait_for_url(re.compile(r".*status=scored&participant=grace&page=2$"))
    assert page.input_value("input[name=participant]") == "grace"
    assert "page 2 of 34" in page.inner_text(".pager-count")
    assert set(page.locator("tbody tr td:nth-child(2)").all_inner_texts()) == {"grace"}
    screenshot(page, "admin-submissions-filtered-page-2")

    page.goto(f"{ADMIN}/submissions?participant=grace&status=scored&page=34")
    page.locator("tbody tr").last.locator("a").first.click()  # grace's first, scored upload
    page.wait_for_url(re.compile(r".*/admin/submissions/\d+$"))
    assert "grace@example.org" in page.inner_text("#submitter")
    assert page.locator("#scores-dev tbody tr").count() == 3
    assert page.locator("#scores-final tbody tr").count() == 3
    screenshot(page, "admin-submission")

    page.goto(f"{ADMIN}/audit")
    screenshot(page, "admin-audit")
    page.goto(f"{ADMIN}/participants")
    screenshot(page, "admin-participants")


def test_the_account_page_fits_a_phone_and_copies_codes(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/login")
    page.fill("#email", "grace@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")
    page.fill("#token-name", "a laptop with a rather long name")
    page.click("button:has-text('Create token')")
    page.wait_for_selector("#new-token")
    page.fill("#team-name", "Membership sleuths")
    page.click("button:has-text('Create team')")
    page.wait_for_selector("#invite-code")
    screenshot(page, "account")

    page.set_viewport_size({"width": 390, "height": 844})
    revoke = page.locator("button:has-text('Revoke')").first.bounding_box()
    assert revoke is not None and revoke["x"] + revoke["width"] <= 390  # on screen
    code = page.locator("#invite-code").bounding_box()
    line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
    assert code is not None and code["height"] < 1.5 * line  # one line, not broken mid-code
    from playwright.sync_api import expect

    copy = page.locator("button.copy[data-copy=invite-code]")
    copy.click()
    # The label changes when the clipboard's promise settles, which may be after the click returns.
    expect(copy).to_have_text(re.compile(r"^(Copied|Selected: press Ctrl\+C)$"))
