"""After the competition, in a real headless Chromium: an organizer reveals the final results,
announces the winners with their write-up links and turns MICO into a living benchmark; a
newcomer signs up, submits to the benchmark and finds the row marked as after the
competition, while the final ranking on the Results page and the final leaderboard stays as
it was; screenshots at 1280 and 390 px, none scrolling sideways (test-artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e.test_browser import _sign_up
from tests.e2e.test_results_pages import WRITEUP, _announce, _describe, _reveal, _sign_in
from tests.fixtures.live import ORGANIZER, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
FINAL = "/competitions/mico/tracks/cifar10/leaderboard?split=final"


def _final_ranking(page: Page) -> tuple[list[str], list[str]]:
    """The Results page's final rows and the final leaderboard's, as a visitor reads them."""
    page.goto("/competitions/mico/results")
    results = page.locator("#results-cifar10 tbody tr").all_inner_texts()
    page.goto(FINAL)
    page.locator("#rows tbody tr").first.wait_for()
    return results, page.locator("#rows tbody tr").all_inner_texts()


def _turn_into_benchmark(page: Page) -> None:
    page.goto("/competitions/mico/admin/benchmark")
    screenshot(page, "benchmark-admin-before")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#open-benchmark-button")
    page.wait_for_selector(".notice.flash:has-text('is a benchmark')")
    assert "scored on final" in page.inner_text("#is-benchmark")


def _submit_to_benchmark(page: Page, demo: Path) -> None:
    """ada, new, signs up (no approval asked) and sends a strong attack from the Benchmark tab."""
    _sign_up(page, "ada")
    page.click("nav.comp-tabs a:text-is('Benchmark')")
    page.wait_for_url("**/competitions/mico/benchmark")
    page.click("a:has-text('Submit to the cifar10 benchmark')")
    page.wait_for_selector("#allowance:has-text('5 of 5 submissions left today')")
    page.set_input_files("#file", str(demo / "submissions" / "cifar10-strong.zip"))
    page.click("#send")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    page.wait_for_selector("#status:has-text('scored')", timeout=30_000)
    assert page.locator("#scores-final").count() == 1  # scored on final, shown: revealed


def test_an_organizer_makes_mico_a_benchmark_and_a_newcomer_ranks_on_it_marked(
    new_page: NewPage, demo: Path
) -> None:
    winner = _describe(new_page())
    organizer = new_page()
    _sign_in(organizer, ORGANIZER)
    _reveal(organizer)
    _announce(organizer, winner)
    visitor = new_page()
    before = _final_ranking(visitor)
    _turn_into_benchmark(organizer)

    newcomer = new_page()
    _submit_to_benchmark(newcomer, demo)
    newcomer.goto("/competitions/mico/benchmark?track=cifar10")
    rows = newcomer.locator("table.bench-table tbody tr")
    assert rows.count() == 3
    mine = rows.filter(has_text="ada")
    assert mine.locator(".badge.after").inner_text() == "after the competition"
    assert mine.locator(".badge.level-self_reported").inner_text() == "self-reported"
    grace = rows.filter(has_text="grace")
    assert grace.locator(".badge.after").count() == 0
    assert grace.locator("a.writeup").get_attribute("href") == WRITEUP
    screenshot(newcomer, "benchmark-public")

    submission = mine.get_attribute("id")
    assert submission is not None
    organizer.goto("/competitions/mico/admin/benchmark")
    number = submission.removeprefix("bench-")
    organizer.select_option(f"#level-{number}", "verified")
    organizer.click(f"#set-level-{number}")
    organizer.wait_for_selector(f".notice.flash:has-text('Submission {number}: verified')")
    screenshot(organizer, "benchmark-admin")
    newcomer.reload()
    assert newcomer.locator(f"#bench-{number} .badge.level-verified").inner_text() == "verified"

    assert _final_ranking(visitor) == before  # frozen: ada's benchmark entry is on neither
    assert all("ada" not in row for part in before for row in part)
