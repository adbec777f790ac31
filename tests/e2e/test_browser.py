"""End to end in a real headless Chromium on the real server: what a participant and an
organizer do, click by click, with screenshots of the key pages at desktop and phone width
(test-artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import ORGANIZER, screenshot
from tests.submissions.test_upload import _broken, _noted

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
LEADERBOARD = "/competitions/mico/tracks/cifar10/leaderboard"


def _sign_up(page: Page, name: str) -> None:
    """A new account by the register form, then registered to MICO by ticking the terms."""
    page.goto("/register")
    page.fill("#email", f"{name}@example.org")
    page.fill("#display_name", name)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Create account')")
    page.wait_for_url("**/account")
    page.goto("/competitions/mico")
    page.check("input[name=accept_terms]")
    page.click("#registration button[type=submit]")
    page.wait_for_selector("#registration .notice:has-text('You are registered')")


def test_a_participant_signs_up_uploads_and_finds_the_row_on_the_leaderboard(
    new_page: NewPage, demo: Path
) -> None:
    page = new_page()
    _sign_up(page, "ada")
    screenshot(page, "competition")

    page.click("a[href='/competitions/mico/tracks/cifar10/submit']")
    page.wait_for_selector("#allowance:has-text('30 of 30 submissions left today')")
    page.set_input_files("#file", str(demo / "submissions" / "cifar10-strong.zip"))
    page.fill("#description", "LiRA <b>16</b> shadows")
    page.click("#send")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again

    page.wait_for_selector("#status:has-text('scored')", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
    assert page.inner_text("#scores-dev .ranking") != ""
    assert page.locator("#scores-dev tbody tr").count() == 3  # cifar10's three scenarios
    assert page.locator("#scores-dev svg[role=img]").count() == 2  # linear and log-log ROC
    assert page.locator("#scores-final").count() == 0  # hidden until the reveal
    assert page.inner_text(".description") == "LiRA <b>16</b> shadows"  # text, not markup
    screenshot(page, "submission-scored")

    page.goto(LEADERBOARD)
    row = page.locator("#rows tbody tr", has_text="ada")
    row.wait_for()
    assert row.locator("td").first.inner_text().startswith("1")  # the strong attack leads
    assert page.locator("#rows tbody tr").count() == 3  # with grace and linus, seeded
    assert page.locator("#overlays svg[role=img]").count() >= 2
    screenshot(page, "leaderboard")


def test_an_invalid_zip_is_refused_with_its_problems_listed(
    new_page: NewPage, demo: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(_broken((demo / "submissions" / "cifar10-strong.zip").read_bytes()))
    page = new_page()
    _sign_up(page, "bea")
    page.goto("/competitions/mico/tracks/cifar10/submit")
    page.set_input_files("#file", str(broken))
    page.click("#send")

    page.wait_for_selector("#problems:not([hidden])")
    assert "nothing was stored" in page.inner_text("#problem-summary")
    problems = page.locator("#problem-list li").all_inner_texts()
    assert any(
        p.startswith("cifar10/cifar10_hi/dev/model_100/prediction.csv") and "199" in p
        for p in problems
    ), problems
    assert any("missing" in p for p in problems), problems
    assert page.url.endswith("/submit")  # still on the form, nothing stored
    screenshot(page, "submit-problems")
    page.reload()
    assert "30 of 30" in page.inner_text("#allowance")  # a refused zip is not counted


def test_what_was_ignored_is_shown_apart_then_the_submission_is_one_click_away(
    new_page: NewPage, demo: Path, tmp_path: Path
) -> None:
    strong = (demo / "submissions" / "cifar10-strong.zip").read_bytes()
    (tmp_path / "refused.zip").write_bytes(_noted(strong, drop_first=True))
    (tmp_path / "noted.zip").write_bytes(_noted(strong))
    page = new_page()
    _sign_up(page, "cat")
    page.goto("/competitions/mico/tracks/cifar10/submit")
    page.set_input_files("#file", str(tmp_path / "refused.zip"))
    page.click("#send")
    page.wait_for_selector("#problems:not([hidden])")
    assert page.locator("#warnings").is_visible()
    assert page.locator("#warning-list li").all_inner_texts() == [
        "README.md: is not a prediction file: ignored",
        "train/ is not scored: ignored (1 file)",
    ]
    assert page.locator("#warning-summary.warning").count() == 1
    assert "README" not in page.inner_text("#problem-list")

    page.set_input_files("#file", str(tmp_path / "noted.zip"))
    assert not page.locator("#warnings").is_visible()  # a new file, a new answer
    page.click("#send")
    page.wait_for_selector("#submission-link")
    assert page.url.endswith("/submit") and not page.locator("#problems").is_visible()
    assert "Stored and queued" in page.inner_text("#warning-summary")
    screenshot(page, "submit-warnings")
    page.click("#submission-link")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))


def test_an_organizer_opens_the_final_phase_and_reveals_the_final_leaderboard(
    new_page: NewPage,
) -> None:
    visitor = new_page()
    visitor.goto(LEADERBOARD + "?split=final")
    assert visitor.locator("#not-yet").is_visible()  # hidden before the reveal

    page = new_page()
    page.goto("/login")
    page.fill("#email", ORGANIZER)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")

    page.goto("/competitions/mico/admin/phases")
    final = page.locator("section.card", has=page.locator("h2", has_text="Final"))
    screenshot(page, "admin-phases")
    final.locator("button", has_text="Open now").click()
    page.wait_for_load_state()
    final.locator("input[name=accepts_uploads]").wait_for()
    assert final.locator("input[name=starts_at]").input_value() != ""  # started now
    development = page.locator("section.card", has=page.locator("h2", has_text="Development"))
    assert development.locator("input[name=ends_at]").input_value() != ""  # ended now

    page.goto("/competitions/mico/admin/submissions")
    assert page.locator("tbody tr", has_text="grace").count() == 1
    screenshot(page, "admin-submissions")

    page.goto(LEADERBOARD + "?split=final")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#reveal")
    page.wait_for_url(re.compile(r".*/competitions/mico(#tracks)?$"))
    assert asked == [
        "Reveal the final leaderboard of every track? Participants will see final scores at once."
    ]
    assert page.inner_text(".notice.flash").startswith("Final results revealed: 2 tracks")

    visitor.goto(LEADERBOARD + "?split=final")
    rows = visitor.locator("#rows tbody tr")
    rows.first.wait_for()
    assert [r.split("\t")[1] for r in rows.all_inner_texts()] == ["grace", "linus"]
    assert visitor.locator("#overlays svg[role=img]").count() >= 2
    screenshot(visitor, "leaderboard-final")
