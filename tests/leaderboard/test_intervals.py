"""Bootstrap intervals on leaderboards: computed by their own job after the score shows, kept
on the ranking, shown with a mark on rows the data cannot tell from the leader; hidden under
the Ladder and, for final, until the reveal; a rescore, a deletion or new labels meanwhile
never leave a wrong interval, and the sweeper fills in what a crash left missing."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import delete, select, update

from app.leaderboard import boards
from app.leaderboard.intervals import compute_intervals, sweep_intervals
from app.leaderboard.service import STALE_GRACE, StandingsCache
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.clock import FakeClock

BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"
PAGE = "/competitions/mico/tracks/cifar10/leaderboard"
TIE = 'title="Cannot be told apart from the leader at 95%'


def _submit(arena: Arena, headers: dict[str, str], attack: str) -> int:
    submission: int = arena.upload(headers, arena.zip(f"cifar10-{attack}")).json()["id"]
    assert arena.score_sent() == ["scored"]
    return submission


def _entries(arena: Arena, split: str = "dev", **headers: str) -> list[dict[str, object]]:
    answer = arena.browser.get(BOARD, params={"split": split}, headers=headers)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, object]] = answer.json()["entries"]
    return entries


def _rankings(arena: Arena, submission: int) -> dict[str, Ranking]:
    arena.session.expire_all()
    rows = arena.session.scalars(select(Ranking).where(Ranking.submission_id == submission))
    return {r.split: r for r in rows}


def test_the_score_shows_at_once_and_its_interval_once_the_job_has_run(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    _submit(arena, ada, "strong")
    _submit(arena, bob, "weak")
    before = _entries(arena)
    assert [(e["ci_low"], e["ci_high"]) for e in before] == [(None, None)] * 2
    page = arena.browser.get(PAGE).text
    assert "95% interval" in page and "being computed" in page and TIE not in page

    assert arena.intervals_sent() == ["done", "done"]
    entries = _entries(arena)
    for entry in entries:
        low, high, score = entry["ci_low"], entry["ci_high"], entry["ranking_score"]
        assert isinstance(low, float) and isinstance(high, float) and isinstance(score, float)
        assert low <= score <= high and high - low < 0.1
    assert entries[1]["ci_high"] < entries[0]["ci_low"]  # type: ignore[operator]
    page = arena.browser.get(PAGE).text
    assert f"[{entries[0]['ci_low']:.3f}, {entries[0]['ci_high']:.3f}]" in page
    assert TIE not in page and 'id="interval-legend"' in page  # strong and weak: told apart

    rows = list(
        csv.DictReader(io.StringIO(arena.browser.get(BOARD, params={"format": "csv"}).text))
    )
    assert [float(r["ci_low"]) for r in rows] == [e["ci_low"] for e in entries]
    assert [float(r["ci_high"]) for r in rows] == [e["ci_high"] for e in entries]
    # Strong and weak: each alone at its rank in every common replicate, groups apart.
    assert [(e["rank_low"], e["rank_high"], e["group"]) for e in entries] == [(1, 1, 1), (2, 2, 2)]
    assert [(r["rank_low"], r["rank_high"], r["group"]) for r in rows] == [
        ("1", "1", "1"),
        ("2", "2", "2"),
    ]
    assert "Rank 95%" in page and "2–2" in page and 'aria-label="group 2"' in page


def test_the_job_is_idempotent_and_reproducible_and_a_rescore_computes_it_again(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = _submit(arena, ada, "medium")
    assert arena.intervals_sent() == ["done"]
    first = {s: (r.ci_low, r.ci_high) for s, r in _rankings(arena, submission).items()}
    assert set(first) == {"dev", "final"} and None not in first["final"]
    assert compute_intervals(arena.factory, submission) == "skipped"  # a duplicate message

    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    rescore = f"/api/v1/admin/competitions/mico/submissions/{submission}/rescore"
    assert arena.browser.post(rescore, headers=organizer).status_code == 202
    assert arena.score_sent() == ["scored"]
    assert all(r.ci_low is None for r in _rankings(arena, submission).values())
    assert arena.intervals_sent() == ["done"]
    again = {s: (r.ci_low, r.ci_high) for s, r in _rankings(arena, submission).items()}
    assert again == first  # the same seed for the same submission and split


def test_rows_whose_interval_overlaps_the_leaders_are_marked(arena: Arena) -> None:
    ids = {}
    for name in ("ada", "bob", "carl"):
        _, headers = arena.participant(f"{name}@example.org")
        ids[name] = _submit(
            arena, headers, {"ada": "strong", "bob": "medium", "carl": "weak"}[name]
        )
    assert TIE not in arena.browser.get(PAGE).text  # no interval yet: no mark
    constructed = {"ada": (0.50, 0.60), "bob": (0.45, 0.50), "carl": (0.30, 0.4999)}
    for name, (low, high) in constructed.items():
        arena.session.execute(
            update(Ranking)
            .where(Ranking.submission_id == ids[name], Ranking.split == "dev")
            .values(ci_low=low, ci_high=high)
        )
    arena.session.commit()
    page = arena.browser.get(PAGE).text
    rows = {
        name: row for row in page.split("<tr>")[2:] for name in ids if f"<td>{name}</td>" in row
    }
    assert TIE not in rows["ada"]  # the leader itself
    assert TIE in rows["bob"]  # touches the leader's interval at 0.50
    assert TIE not in rows["carl"]  # ends just below it
    assert "1 row here" in page


def test_the_ladder_hides_intervals_from_participants_but_not_from_organizers(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    arena.session.execute(update(Phase).values(ladder_eta=0.05))
    arena.session.commit()
    _submit(arena, ada, "medium")
    assert arena.intervals_sent() == ["done"]

    for headers in ({}, ada):  # anonymous and the participant herself
        (entry,) = _entries(arena, **headers)
        assert entry["ci_low"] is None and entry["ci_high"] is None
        assert entry["rank_low"] is None and entry["rank_high"] is None and entry["group"] is None
        table = arena.browser.get(BOARD, params={"format": "csv"}, headers=headers).text
        assert list(csv.DictReader(io.StringIO(table)))[0]["ci_low"] == ""
    page = arena.browser.get(PAGE).text
    assert 'id="ladder"' in page and "95% interval" not in page and "interval-legend" not in page
    assert "Rank 95%" not in page
    (exact,) = _entries(arena, **organizer)
    assert isinstance(exact["ci_low"], float) and isinstance(exact["ci_high"], float)
    assert (exact["rank_low"], exact["rank_high"], exact["group"]) == (1, 1, 1)


def test_final_intervals_stay_hidden_until_the_reveal(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _submit(arena, ada, "strong")
    assert arena.intervals_sent() == ["done"]
    for headers in ({}, ada):
        for fmt in ("json", "csv"):
            hidden = arena.browser.get(
                BOARD, params={"split": "final", "format": fmt}, headers=headers
            )
            assert hidden.status_code == 404
    final = arena.browser.get(f"{PAGE}?split=final", headers=ada).text
    assert "95% interval" not in final and "appears here when the organizers reveal it" in final
    (seen,) = _entries(arena, "final", **organizer)
    assert isinstance(seen["ci_low"], float)
    answer = arena.browser.post("/api/v1/admin/competitions/mico/reveal", headers=organizer)
    assert answer.status_code == 200
    (revealed,) = _entries(arena, "final")
    assert revealed["ci_low"] == seen["ci_low"] and revealed["ci_high"] == seen["ci_high"]


def test_a_job_finding_its_submission_deleted_rescored_or_relabelled_writes_nothing(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    gone, queued, relabelled = (_submit(arena, ada, "weak") for _ in range(3))
    arena.session.execute(delete(Submission).where(Submission.id == gone))
    arena.session.execute(update(Submission).where(Submission.id == queued).values(status="queued"))
    # As if the ground truth had changed since scoring: the score the job recomputes differs.
    arena.session.execute(
        update(Ranking)
        .where(Ranking.submission_id == relabelled, Ranking.split == "dev")
        .values(ranking_score=0.123)
    )
    arena.session.commit()
    assert arena.intervals_sent() == ["skipped", "skipped", "done"]
    assert _rankings(arena, gone) == {}
    assert all(r.ci_low is None for r in _rankings(arena, queued).values())
    kept = _rankings(arena, relabelled)
    assert kept["dev"].ci_low is None and kept["final"].ci_low is not None  # final unchanged
    statuses = arena.session.scalars(select(Submission.status).where(Submission.id != gone))
    assert set(statuses) == {SubmissionStatus.SCORED, SubmissionStatus.QUEUED}  # none failed


def test_the_sweeper_sends_missing_intervals_again_after_a_while_a_batch_at_a_time(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    fresh, lost, old = (_submit(arena, ada, "weak") for _ in range(3))
    arena.sent.intervals.clear()  # their messages were lost
    long_ago = utcnow() - timedelta(minutes=5)
    arena.session.execute(
        update(Ranking).where(Ranking.submission_id == lost).values(ci_sent_at=long_ago)
    )
    # Scored before intervals existed: never sent at all.
    arena.session.execute(
        update(Ranking).where(Ranking.submission_id == old).values(ci_sent_at=None)
    )
    arena.session.commit()

    minute = timedelta(minutes=1)
    assert sweep_intervals(arena.factory, arena.sent.send_intervals, after=minute) == [old, lost]
    assert arena.sent.intervals == [old, lost]  # sent once committed
    assert sweep_intervals(arena.factory, arena.sent.send_intervals, after=minute) == []
    assert arena.intervals_sent() == ["done", "done"]
    assert all(r.ci_low is not None for r in _rankings(arena, lost).values())
    assert all(r.ci_low is None for r in _rankings(arena, fresh).values())  # not yet a minute


def test_hostile_ids_and_queries_are_refused_not_crashed(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _submit(arena, ada, "weak")
    assert arena.intervals_sent() == ["done"]
    for bad in (0, -1, 987_654, 2**31 - 1):  # a message naming no submission: nothing to do
        assert compute_intervals(arena.factory, bad) == "skipped"
    for params in ({"split": "x" * 5000}, {"split": "dev", "format": "<b>"}, {"split": "\x00"}):
        assert arena.browser.get(BOARD, params=params).status_code in (404, 422)
    page = arena.browser.get(PAGE, params={"split": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)" not in page
    assert re.search(r"\[0\.\d{3}, 0\.\d{3}\]", arena.browser.get(PAGE).text)


def test_rank_intervals_are_worked_out_again_at_most_every_thirty_seconds(arena: Arena) -> None:
    """Made again with its board while scores stream in, a board keeps the last rank intervals
    for the rows that had them; a row new since gets its own at the next working out."""
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    _submit(arena, ada, "strong")
    assert arena.intervals_sent() == ["done"]
    clock = FakeClock()
    cache = StandingsCache(2, clock)
    competition = arena.session.scalars(select(Competition)).one()
    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()

    def groups() -> dict[str, int | None]:
        board = boards.board_of(arena.factory, cache, competition, track, "dev", exact=True)
        return {e.participant: e.group for e in board.entries}

    assert groups() == {"ada": 1}
    _submit(arena, bob, "strong")
    assert arena.intervals_sent() == ["done"]
    clock.advance(2 + STALE_GRACE)  # too old to serve: the reader waits for the next board
    assert groups() == {"ada": 1, "bob": None}  # made again, with the rank intervals kept
    clock.advance(boards.RANK_INTERVALS_EVERY - 2 - STALE_GRACE)
    assert groups() == {"ada": 1, "bob": 1}  # the same attack: the data cannot tell them apart
