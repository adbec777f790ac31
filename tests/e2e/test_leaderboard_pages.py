"""A leaderboard of hundreds of rows in a real Chromium, at desktop and phone width: pages of
rows, each scenario's name over its metrics, the viewer's own row marked and one click away,
tabs to the other track and to Submit, and ROC charts whose ticks stay legible and apart."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.core.db import committing, make_engine, sessions
from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import SCREENSHOTS
from tests.leaderboard.test_pages import crowd

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
LEADERBOARD = "/competitions/mico/tracks/cifar10/leaderboard"
CROWD = 240  # with the two seeded participants: 242 rows, three pages


@pytest.fixture(scope="module")
def seeded_database(seeded_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live servers' seed with a crowd on cifar10 besides grace and linus."""
    path = tmp_path_factory.mktemp("crowd") / "seed.sqlite3"
    shutil.copy(seeded_database, path)
    engine = make_engine(f"sqlite:///{path}")
    with committing(sessions(engine)()) as session:
        crowd(session, CROWD)
    engine.dispose()
    return path


def _shots(page: Page, name: str) -> None:
    """The page at 1280 and 390 px, which must not scroll sideways at either."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-view.png"))  # what one sees
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width} px"


TICKS = """() => [...document.querySelectorAll('#overlays details[open] svg')].map(svg => {
  const boxes = [...svg.querySelectorAll('.roc-ticks text, .roc-axis-labels text')]
    .map(t => t.getBoundingClientRect());
  const ticks = [...svg.querySelectorAll('.roc-ticks text')].map(t => t.getBoundingClientRect());
  let overlaps = 0;
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    const apart = a.right - 0.5 <= b.left || b.right - 0.5 <= a.left
      || a.bottom - 0.5 <= b.top || b.bottom - 0.5 <= a.top;
    if (!apart) overlaps++;
  }));
  const size = parseFloat(getComputedStyle(svg.querySelector('.roc-ticks text')).fontSize);
  return {width: svg.getBoundingClientRect().width, card: svg.closest('.card').clientWidth,
          shown: size * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width,
          lowest: Math.min(...ticks.map(r => r.height)), overlaps};
})"""


def test_a_big_leaderboard_in_pages_with_the_viewers_row_one_click_away(
    new_page: NewPage,
) -> None:
    page = new_page()
    page.goto("/login")
    page.fill("#email", "grace@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")

    page.goto(LEADERBOARD)
    assert page.locator("#rows tbody tr").count() == 100
    groups = page.locator("#rows thead th[scope=colgroup]").all_inner_texts()
    assert len(groups) == 3 and all(g.startswith("cifar10") for g in groups)
    assert page.locator("#rows thead tr:nth-child(2) th").all_inner_texts()[:2] == [
        "TPR@10%",
        "AUC",
    ]
    assert page.locator(".pager [aria-current=page]").inner_text() == "1"
    assert page.locator("nav[aria-label=Tracks] a").count() == 2  # cifar10 and ddp
    assert page.locator("#submit-link").get_attribute("href") == (
        "/competitions/mico/tracks/cifar10/submit"
    )
    rank = page.inner_text("#your-rank strong")
    _shots(page, "leaderboard-pages")

    # Sorting by a scenario's AUC still works under the grouped heading.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("#rows thead tr:nth-child(2) th:nth-child(2)")
    auc = page.locator("#rows tbody tr td:nth-child(6)").all_inner_texts()[:5]
    assert auc == sorted(auc, reverse=True)

    page.click("#your-rank a")
    page.wait_for_url("**page=*#you")
    own = page.locator("#you")
    assert own.get_attribute("aria-current") == "true" and "you" in own.inner_text()
    assert own.locator("td").first.inner_text().split()[0] == rank
    page.wait_for_load_state("load")
    where = page.evaluate(
        "(() => { const r = document.getElementById('you').getBoundingClientRect();"
        " return [r.top, r.bottom, window.innerHeight, window.scrollY]; })()"
    )
    assert 0 <= where[0] and where[1] <= where[2], where  # scrolled to it
    _shots(page, "leaderboard-own-row")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        page.locator(".pager").screenshot(path=str(SCREENSHOTS / f"leaderboard-pager-{width}.png"))

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        for chart in page.evaluate(TICKS):
            assert chart["overlaps"] == 0, (width, chart)
            assert chart["shown"] >= 11, (width, chart)  # px, tick labels on a phone too
            if width == 1280:  # the card's width, two charts side by side
                assert chart["width"] > 400, chart
    page.locator("#overlays").scroll_into_view_if_needed()
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#overlays").screenshot(path=str(SCREENSHOTS / "leaderboard-charts-390.png"))
