"""The leaderboard page of a board with thousands of rows: 100 rows a page with links between
them, the scenario's name over its metrics, the viewer's own row (or their team's) marked and
one click away from any page, final still hidden on every page before the reveal."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.main import create_app
from app.models import representative
from app.models.base import utcnow
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.scenario import Scenario
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import User
from app.teams import service as teams
from tests.competitions.test_organizers import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import Sent

PAGE = "/competitions/mico/tracks/cifar10/leaderboard"
BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"
OTHERS = 2_499  # with ada's team: 2,500 rows, 25 pages
FIRST_ID = 100_000  # far above what the fixture's own rows use
METRICS = ("TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_1000", "AUC", "MIA", "accuracy")


class Table(HTMLParser):
    """The leaderboard table's header rows (cells with their attributes) and body rows (the
    row's attributes and its cells' text)."""

    def __init__(self) -> None:
        super().__init__()
        self.head: list[list[tuple[dict[str, str | None], str]]] = []
        self.body: list[tuple[dict[str, str | None], list[str]]] = []
        self._part = ""
        self._cell: list[str] | None = None
        self._cell_attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("thead", "tbody"):
            self._part = tag
        elif tag == "tr" and self._part == "thead":
            self.head.append([])
        elif tag == "tr" and self._part == "tbody":
            self.body.append((dict(attrs), []))
        elif tag in ("th", "td"):
            self._cell, self._cell_attrs = [], dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._part == "thead":
                self.head[-1].append((self._cell_attrs, text))
            else:
                self.body[-1][1].append(text)
            self._cell = None
        elif tag in ("thead", "tbody"):
            self._part = ""


def _table(html: str) -> Table:
    table = Table()
    table.feed(html)
    return table


def _ranks(html: str) -> list[int]:
    return [int(cells[0].split()[0]) for _, cells in _table(html).body]


def crowd(session: Session, count: int = OTHERS) -> None:
    """`count` participants with a scored dev and final submission each on cifar10, inserted
    in bulk as the benchmark does (uploading and scoring each would take minutes); scores
    spread evenly over 0..1."""
    track = session.scalars(select(Track).where(Track.name == "cifar10")).one()
    phase = session.scalars(
        select(Phase).where(
            Phase.competition_id == track.competition_id, Phase.name == "Development"
        )
    ).one()
    scenarios = list(session.scalars(select(Scenario.id).where(Scenario.track_id == track.id)))
    now = utcnow()
    ids = range(FIRST_ID, FIRST_ID + count)
    session.execute(
        insert(User),
        [
            {"id": i, "email": f"p{i}@example.org", "display_name": f"p{i}", "password_hash": "-"}
            for i in ids
        ],
    )
    session.execute(
        insert(Submission),
        [
            {
                "id": i,
                "user_id": i,
                "track_id": track.id,
                "phase_id": phase.id,
                "zip_bytes": b"",
                "sha256": "0" * 64,
                "size": 0,
                "status": SubmissionStatus.SCORED,
                "scored_at": now,
                "created_at": now - timedelta(days=1, seconds=i - FIRST_ID),
            }
            for i in ids
        ],
    )
    score = {i: (i - FIRST_ID + 0.5) / count for i in ids}
    for split in ("dev", "final"):
        session.execute(
            insert(Ranking),
            [{"submission_id": i, "split": split, "ranking_score": score[i]} for i in ids],
        )
        session.execute(
            insert(Score),
            [
                {
                    "submission_id": i,
                    "split": split,
                    "scenario_id": scenario,
                    "metrics": dict.fromkeys(METRICS, score[i]),
                    "roc": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]},
                }
                for i in ids
                for scenario in scenarios
            ],
        )
    representative.rebuild(session, track.id)  # bulk INSERTs go around the flush
    session.commit()


def _board_with_ada_and_bob(arena: Arena) -> tuple[int, int]:
    """The crowd, and ada's team (ada and bob) with one real scored upload of ada's. The
    team's rank and the page it is on."""
    ada, ada_headers = arena.participant("ada@example.org")
    bob, _ = arena.participant("bob@example.org")
    team = teams.create_team(arena.session, ada, "Lovelace")
    teams.join_team(arena.session, bob, team.invite_code)
    arena.session.commit()
    crowd(arena.session)
    arena.upload(ada_headers, arena.zip("cifar10-strong"))
    assert arena.score_sent() == ["scored"]
    entries = arena.browser.get(BOARD).json()["entries"]
    assert len(entries) == OTHERS + 1  # the API still has every row
    rank: int = next(e["rank"] for e in entries if e["participant"] == "Lovelace")
    return rank, (rank - 1) // 100 + 1


def test_thousands_of_rows_come_a_hundred_a_page_with_links_to_the_others(arena: Arena) -> None:
    rank, _ = _board_with_ada_and_bob(arena)
    first = arena.browser.get(PAGE).text
    assert _ranks(first) == list(range(1, 101))
    assert "Rows 1–100 of 2,500" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert re.findall(r'aria-label="Page (\d+)', first) == ["1", "2", "3", "25"]

    middle = arena.browser.get(PAGE, params={"page": 12}).text
    assert _ranks(middle) == list(range(1101, 1201))
    assert re.findall(r'aria-label="Page (\d+)', middle) == [
        "1",
        "10",
        "11",
        "12",
        "13",
        "14",
        "25",
    ]
    assert 'href="?split=dev&amp;page=11" rel="prev"' in middle
    assert 'href="?split=dev&amp;page=13" rel="next"' in middle

    last = arena.browser.get(PAGE, params={"page": 25}).text
    assert _ranks(last) == list(range(2401, 2501)) and 'rel="next"' not in last
    past = arena.browser.get(PAGE, params={"page": 26})
    assert past.status_code == 404 and "has 25 pages" in past.text
    # The live refresh asks for its own page's rows.
    refreshed = arena.browser.get(PAGE, params={"page": 12, "rows_only": "true"}).text
    assert _ranks(refreshed) == list(range(1101, 1201))
    # Anonymous readers see no row as theirs.
    assert "Your rank" not in first and 'class="own"' not in first and rank > 0


def test_the_viewers_row_is_marked_and_one_click_away_from_any_page(arena: Arena) -> None:
    rank, page = _board_with_ada_and_bob(arena)
    assert page > 1  # a rank deep in the board: the link has a page to go to
    for viewer in ("ada@example.org", "bob@example.org"):  # the uploader and her teammate
        _sign_in(arena, viewer)
        first = arena.browser.get(PAGE).text
        found = re.search(
            r"Your rank: <strong>([\d,]+)</strong> of 2,500 — <a href=\"([^\"]+)\">", first
        )
        assert found is not None, viewer
        assert found.group(1) == f"{rank:,}"
        assert found.group(2) == f"?split=dev&amp;page={page}#you"
        assert 'class="own"' not in first  # not on the first page
        shown = arena.browser.get(PAGE, params={"split": "dev", "page": page}).text
        own = [(attrs, cells) for attrs, cells in _table(shown).body if attrs.get("class") == "own"]
        assert len(own) == 1
        attrs, cells = own[0]
        assert attrs["id"] == "you" and attrs["aria-current"] == "true"
        assert int(cells[0].split()[0]) == rank and cells[1] == "Lovelace you"
        live = arena.browser.get(PAGE, params={"page": page, "rows_only": "true"}).text
        assert 'id="you"' in live
    # Someone else's view of the same page marks nothing, and is not the one kept for ada.
    arena.participant("carl@example.org")
    _sign_in(arena, "carl@example.org")
    other = arena.browser.get(PAGE, params={"page": page}).text
    assert 'class="own"' not in other and "Your rank" not in other


def test_each_scenario_heads_its_own_metrics_and_every_cell_is_sortable(arena: Arena) -> None:
    _board_with_ada_and_bob(arena)
    table = _table(arena.browser.get(PAGE).text)
    scenarios = sorted(arena.browser.get(BOARD).json()["entries"][0]["scenarios"])
    assert len(scenarios) > 1
    top, metrics = table.head
    groups = [(text, attrs) for attrs, text in top if attrs.get("colspan") == "2"]
    assert [text for text, _ in groups] == scenarios
    assert all(attrs["scope"] == "colgroup" for _, attrs in groups)
    assert [text for _, text in metrics] == ["TPR@10%", "AUC"] * len(scenarios)
    # One sortable heading per column, numbered as the columns are.
    columns = sorted(
        int(attrs["data-col"] or "")
        for row in table.head
        for attrs, _ in row
        if "data-col" in attrs
    )
    assert columns == list(range(len(table.body[0][1])))
    assert "AUC" not in [text for attrs, text in top]  # no bare metric headings up top


def test_final_stays_hidden_on_every_page_before_the_reveal(arena: Arena) -> None:
    """As on its first page (and as before pages): the page says when final appears, shows
    no row of it, and the API answers 404."""
    _board_with_ada_and_bob(arena)
    _sign_in(arena, "bob@example.org")
    for params in ({"split": "final"}, {"split": "final", "page": "2"}):
        answer = arena.browser.get(PAGE, params=params)
        assert 'id="not-yet"' in answer.text, params
        assert "<tbody>" not in answer.text and "Your rank" not in answer.text
        rows = arena.browser.get(PAGE, params={**params, "rows_only": "true"})
        assert "<tbody>" not in rows.text and "Your rank" not in rows.text
    assert arena.browser.get(BOARD, params={"split": "final", "page": "2"}).status_code == 404
    arena.browser.cookies.clear()
    anonymous = arena.browser.get(PAGE, params={"split": "final", "page": "2"})
    assert 'id="not-yet"' in anonymous.text and "<tbody>" not in anonymous.text


def test_anonymous_pages_are_kept_apart_in_the_micro_cache(arena: Arena) -> None:
    _board_with_ada_and_bob(arena)
    app: Any = create_app(Settings(leaderboard_cache_seconds=60), arena.factory, Sent())
    with TestClient(app, base_url="https://testserver") as browser:
        for _ in range(2):  # made, then kept: each page its own
            assert _ranks(browser.get(PAGE, params={"page": 2}).text)[0] == 101
            assert _ranks(browser.get(PAGE).text)[0] == 1
            assert _ranks(browser.get(PAGE, params={"page": 3, "rows_only": "1"}).text)[0] == 201
