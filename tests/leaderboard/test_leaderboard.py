"""Leaderboards from demo ground truth: the ranking the scores say, one row per participant by
the phase's policy, failed submissions absent, final hidden until an organizer reveals it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.admin.phases import service as phases
from app.admin.phases.schemas import PhaseIn
from app.admin.submissions import service as submissions
from app.auth import service as auth
from app.competitions import registrations
from app.core.config import Settings
from app.core.db import committing, sessions
from app.leaderboard import service as leaderboard_service
from app.leaderboard.service import StandingsCache, signature, standings
from app.main import create_app
from app.models.competition import Competition
from app.models.phase import LeaderboardPolicy, Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.reveal import Reveal
from app.models.submission import Submission
from app.models.track import Track
from app.models.user import Role, User
from app.teams import service as teams
from tests.fixtures.arena import Arena, seed_mico
from tests.fixtures.browser import PASSWORD, Sent
from tests.fixtures.clock import FakeClock
from tests.fixtures.database import migrated
from tests.fixtures.services import wait_for

BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"


def _scored(arena: Arena, headers: dict[str, str], attack: str) -> dict[str, object]:
    submission = arena.upload(headers, arena.zip(f"cifar10-{attack}")).json()["id"]
    assert arena.score_sent() == ["scored"]
    shown: dict[str, object] = arena.browser.get(
        f"/api/v1/submissions/{submission}", headers=headers
    ).json()
    return shown


def _board(arena: Arena, split: str = "dev", **headers: str) -> list[dict[str, object]]:
    answer = arena.browser.get(BOARD, params={"split": split}, headers=headers)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, object]] = answer.json()["entries"]
    return entries


def test_the_ranking_is_the_one_the_scores_say_and_failures_are_absent(arena: Arena) -> None:
    scores = {}
    for name, attack in [("dan", "random"), ("ada", "strong"), ("carl", "weak"), ("bob", "medium")]:
        _, headers = arena.participant(f"{name}@example.org")
        scores[name] = _scored(arena, headers, attack)
    _, eve = arena.participant("eve@example.org")
    failed = arena.upload(eve, arena.zip("cifar10-strong")).json()["id"]
    arena.session.execute(update(Submission).where(Submission.id == failed).values(status="failed"))
    arena.session.commit()
    arena.sent.clear()

    entries = _board(arena)
    assert [e["participant"] for e in entries] == ["ada", "bob", "carl", "dan"]
    page = arena.browser.get("/competitions/mico/tracks/cifar10/leaderboard").text
    assert page.index(">ada<") < page.index(">bob<") < page.index(">carl<")
    assert page.count('role="img"') == 6 and "cifar10_hi: top 4, log-log" in page
    assert [e["rank"] for e in entries] == [1, 2, 3, 4]
    for entry in entries:
        shown = scores[str(entry["participant"])]
        assert entry["submission_id"] == shown["id"]
        assert entry["ranking_score"] == shown["scores"]["dev"]["ranking_score"]  # type: ignore[index]
        hi = entry["scenarios"]["cifar10_hi"]  # type: ignore[index]
        assert (
            hi["TPR_FPR_1000"] == shown["scores"]["dev"]["scenarios"]["cifar10_hi"]["TPR_FPR_1000"]
        )  # type: ignore[index]


def test_latest_or_best_represents_a_participant_and_ties_go_to_the_earlier(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    strong = _scored(arena, ada, "strong")
    weak = _scored(arena, ada, "weak")
    _, bob = arena.participant("bob@example.org")
    bob_weak = _scored(arena, bob, "weak")

    latest = _board(arena)  # MICO's rule: the latest submission counts
    assert [(e["participant"], e["submission_id"]) for e in latest] == [
        ("ada", weak["id"]),  # the same zip as bob's, submitted earlier
        ("bob", bob_weak["id"]),
    ]
    assert (
        latest[0]["ranking_score"] == latest[1]["ranking_score"] and latest[0]["submissions"] == 2
    )

    # An organizer changes the policy: every leaderboard follows at once.
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    phases = arena.browser.get("/api/v1/admin/competitions/mico/phases", headers=organizer).json()
    for phase in phases:
        changed = arena.browser.post(
            f"/api/v1/admin/competitions/mico/phases/{phase['id']}",
            json={"leaderboard_policy": "best"},
            headers=organizer,
        )
        assert changed.status_code == 200, changed.text
    best = _board(arena)
    assert [(e["participant"], e["submission_id"]) for e in best] == [
        ("ada", strong["id"]),
        ("bob", bob_weak["id"]),
    ]


def test_a_team_is_one_row_under_its_name(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    team = teams.create_team(arena.session, ada, "=Shadow Models")
    teams.join_team(arena.session, bob, team.invite_code)
    arena.session.commit()
    _scored(arena, ada_headers, "weak")
    last = _scored(arena, bob_headers, "medium")
    entries = _board(arena)
    assert [(e["participant"], e["submission_id"], e["submissions"]) for e in entries] == [
        ("=Shadow Models", last["id"], 2)
    ]
    table = arena.browser.get(BOARD, params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(table.text)))
    assert table.headers["content-type"].startswith("text/csv")
    assert rows[0][:4] == ["rank", "participant", "submission_id", "ranking_score"]
    assert rows[1][1] == "'=Shadow Models"  # never a spreadsheet formula
    assert float(rows[1][3]) == entries[0]["ranking_score"]


def test_final_stays_hidden_until_an_organizer_reveals_it_then_is_kept(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    _scored(arena, ada, "strong")
    _scored(arena, bob, "weak")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)

    for headers in ({}, ada):
        hidden = arena.browser.get(BOARD, params={"split": "final"}, headers=headers)
        assert hidden.status_code == 404 and "final" in hidden.json()["detail"]
        csv_too = arena.browser.get(
            BOARD, params={"split": "final", "format": "csv"}, headers=headers
        )
        assert csv_too.status_code == 404
    page = arena.browser.get("/competitions/mico/tracks/cifar10/leaderboard?split=final")
    assert "appears here when the organizers reveal it" in page.text and "ada" not in page.text
    assert [e["participant"] for e in _board(arena, "final", **organizer)] == ["ada", "bob"]

    reveal = "/api/v1/admin/competitions/mico/reveal"
    assert arena.browser.post(reveal, headers=ada).status_code == 403
    assert arena.browser.post(reveal).status_code == 401
    answer = arena.browser.post(reveal, headers=organizer)
    assert answer.status_code == 200 and answer.json()["tracks"] == {"cifar10": 2, "ddp": 0}
    shown = _board(arena, "final")
    assert [e["participant"] for e in shown] == ["ada", "bob"]
    assert [e["revealed_rank"] for e in shown] == [1, 2]
    record = arena.session.scalars(select(Reveal).where(Reveal.split == "final")).all()
    assert {len(r.entries) for r in record} == {2, 0}
    assert arena.browser.post(reveal, headers=organizer).status_code == 422  # nothing hidden

    # A later change shows as a change against the revealed ranking.
    _scored(arena, bob, "strong")
    _scored(arena, ada, "random")
    moved = {e["participant"]: (e["rank"], e["revealed_rank"]) for e in _board(arena, "final")}
    assert moved == {"bob": (1, 2), "ada": (2, 1)}
    assert (
        "(was 2)"
        in arena.browser.get("/competitions/mico/tracks/cifar10/leaderboard?split=final").text
    )


def test_a_participant_pins_a_submission_where_the_phase_allows_it(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    strong = _scored(arena, ada, "strong")
    _scored(arena, ada, "weak")
    pin = f"/api/v1/submissions/{strong['id']}/pin"
    refused = arena.browser.post(pin, headers=ada)
    assert refused.status_code == 403 and "cannot be pinned" in refused.json()["detail"]
    arena.session.execute(update(Phase).values(allow_pinning=True))
    arena.session.commit()
    assert arena.browser.post(pin, headers=bob).status_code == 404  # not bob's
    assert arena.browser.post(pin, headers=ada).json()["pinned"] is True
    assert [e["submission_id"] for e in _board(arena)] == [strong["id"]]  # not the latest
    assert arena.browser.delete(pin, headers=ada).json()["pinned"] is False
    assert [e["submission_id"] for e in _board(arena)] != [strong["id"]]


def test_the_ladder_moves_a_shown_score_only_on_a_real_improvement(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    eta = 0.05
    arena.session.execute(update(Phase).values(ladder_eta=eta, leaderboard_policy="latest"))
    arena.session.commit()
    medium = _scored(arena, ada, "medium")
    assert medium["scores"] == {}  # the exact score would defeat the Ladder
    first = _board(arena)[0]
    exact = _board(arena, **organizer)[0]
    assert first["ranking_score"] == round(round(exact["ranking_score"] / eta) * eta, 10)
    assert first["scenarios"] == {} and exact["scenarios"]

    weak = _scored(arena, ada, "weak")  # worse: the shown score stays
    assert _board(arena)[0]["ranking_score"] == first["ranking_score"]
    assert _board(arena)[0]["submission_id"] == medium["id"]
    assert _board(arena, **organizer)[0]["submission_id"] == weak["id"]  # exact, latest
    strong = _scored(arena, ada, "strong")  # better by far more than eta: it moves
    moved = _board(arena)[0]
    assert moved["submission_id"] == strong["id"]
    assert moved["ranking_score"] > first["ranking_score"] + eta
    page = arena.browser.get("/competitions/mico/tracks/cifar10/leaderboard").text
    assert 'id="ladder"' in page and 'role="img"' not in page


def test_the_ladder_ignores_an_improvement_smaller_than_its_step(arena: Arena) -> None:
    _, bob = arena.participant("bob@example.org")
    arena.session.execute(update(Phase).values(ladder_eta=0.5))
    arena.session.commit()
    medium = _scored(arena, bob, "medium")
    strong = _scored(arena, bob, "strong")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    exact = _board(arena, **organizer)[0]
    assert exact["submission_id"] == strong["id"]  # organizers: the latest, exact
    shown = _board(arena)[0]
    assert shown["submission_id"] == medium["id"]  # strong is better, but by less than 0.5
    assert shown["ranking_score"] in (0.0, 0.5, 1.0)


def test_the_cache_serves_a_leaderboard_for_its_seconds_then_computes_it_again(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    _scored(arena, ada, "weak")
    competition = arena.session.scalars(select(Competition)).one()
    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()
    clock = FakeClock()
    cache = StandingsCache(3, clock)

    def board() -> list[object]:
        return cache.get("dev", lambda: standings(arena.session, competition, track, "dev"))

    first = board()
    _, bob = arena.participant("bob@example.org")
    _scored(arena, bob, "strong")
    assert board() is first  # within its seconds: not made again
    clock.advance(3.1)
    assert board() is first  # stale: served at once while a thread makes the next one
    wait_for(lambda: board() is not first, 10, "the leaderboard made again in the background")
    assert [e.participant for e in board()] == ["bob", "ada"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_readers_get_the_stale_board_at_once_then_the_new_one(
    backend: str, request: pytest.FixtureRequest, demo: Path
) -> None:
    """On a database of its own (rankings are made again in threads with sessions of their
    own), served by a server that scores uploads itself."""
    if backend == "postgresql":
        engine = migrated(request.getfixturevalue("new_postgres_database")())
    else:
        engine = request.getfixturevalue("sqlite")
    factory = sessions(engine)
    _, ada = seed_mico(factory, demo)
    with committing(factory()) as session:
        bob = auth.create_user(session, "bob@example.org", PASSWORD, role=Role.PARTICIPANT)
        competition = registrations.competition_by_slug(session, "mico")
        registrations.register(session, competition, bob, accept_terms=True)
        bob_headers = {"Authorization": f"Bearer {auth.create_token(session, bob)[1]}"}
    settings = Settings(database_url=str(engine.url), redis_url=None, leaderboard_cache_seconds=1)
    page = "/competitions/mico/tracks/cifar10/leaderboard"

    def upload(headers: dict[str, str], attack: str) -> None:
        data = (demo / "submissions" / f"cifar10-{attack}.zip").read_bytes()
        url = "/api/v1/competitions/mico/tracks/cifar10/submissions"
        sent = browser.post(url, headers=headers, files={"file": ("p.zip", data)}).json()
        done = browser.get(f"/api/v1/submissions/{sent['id']}?wait=20", headers=headers)
        assert done.json()["status"] == "scored"

    def names(**headers: str) -> list[str]:
        return [e["participant"] for e in browser.get(BOARD, headers=headers).json()["entries"]]

    clock = FakeClock()
    app = create_app(settings, factory, clock=clock)

    def later(check: Callable[[], bool]) -> Callable[[], bool]:
        """`check` after half a second more: readers keep coming as time passes."""

        def look() -> bool:
            clock.advance(0.5)
            return check()

        return look

    with TestClient(app, base_url="https://testserver") as browser:
        upload(ada, "weak")
        assert names() == ["ada"] and ">ada<" in browser.get(page).text
        assert names(**ada) == ["ada"]
        upload(bob_headers, "strong")
        clock.advance(1.1)
        # Stale, served without waiting for the new ranking: to the first token's reader, and
        # to the first anonymous reader (who has a cache of their own).
        assert names(**ada) == ["ada"]
        assert names() == ["ada"]
        wait_for(later(lambda: names() == ["bob", "ada"]), 10, "bob's score on the anonymous API")
        wait_for(later(lambda: names(**ada) == ["bob", "ada"]), 10, "bob's score for ada's token")
        wait_for(later(lambda: ">bob<" in browser.get(page).text), 10, "bob on the anonymous page")
    engine.dispose()


def test_anonymous_reads_are_served_from_the_micro_cache_and_others_never(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _scored(arena, ada, "weak")
    app = create_app(Settings(leaderboard_cache_seconds=60), arena.factory, Sent())
    with TestClient(app, base_url="https://testserver") as browser:
        assert [e["participant"] for e in browser.get(BOARD).json()["entries"]] == ["ada"]
        assert browser.get(BOARD, params={"split": "final"}).status_code == 404
        _, bob = arena.participant("bob@example.org")
        _scored(arena, bob, "strong")
        # Anonymous: the kept answer, for the cache's seconds.
        assert [e["participant"] for e in browser.get(BOARD).json()["entries"]] == ["ada"]
        # Organizers' tokens never get the anonymous answer: final is a 404 kept for the
        # public, and the organizer still sees it.
        _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
        answer = browser.get(BOARD, params={"split": "final"})
        assert answer.status_code == 404 and "set-cookie" not in answer.headers
        final = browser.get(BOARD, params={"split": "final"}, headers=organizer)
        assert final.status_code == 200 and final.json()["entries"]


def test_a_kept_board_is_made_again_only_when_its_signature_changes(arena: Arena) -> None:
    """Every change that can move a row changes the signature; nothing else does."""
    _, ada = arena.participant("ada@example.org")
    _, organizer_headers = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    organizer = arena.session.scalars(select(User).where(User.email == "org@example.org")).one()
    competition = arena.session.scalars(select(Competition)).one()
    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()

    def now() -> object:
        arena.session.expire_all()
        return signature(arena.session, competition, track, "dev")

    seen = [now()]

    def changed(what: str) -> None:
        seen.append(now())
        assert seen[-1] != seen[-2], f"the signature missed: {what}"

    assert now() == seen[-1]  # nothing happened: the same
    _scored(arena, ada, "weak")
    changed("a new score")
    first = arena.session.scalars(select(Submission)).one()
    _scored(arena, ada, "strong")
    changed("a second score")
    first.pinned = True
    arena.session.commit()
    changed("a pin")
    submissions.disqualify(arena.session, competition, organizer, first, "copied")
    arena.session.commit()
    changed("a disqualification")
    registration = arena.session.scalars(select(Registration)).one()
    registrations.change_status(
        arena.session, competition, organizer, registration, RegistrationStatus.BANNED
    )
    arena.session.commit()
    changed("a ban")
    phase = arena.session.scalars(select(Phase).where(Phase.name == "Development")).one()
    phases.change_phase(
        arena.session,
        competition,
        organizer,
        phase,
        PhaseIn(leaderboard_policy=LeaderboardPolicy.BEST),
    )
    arena.session.commit()
    changed("a policy")
    assert (
        arena.browser.post(
            "/api/v1/admin/competitions/mico/reveal", headers=organizer_headers
        ).status_code
        == 200
    )
    changed("a reveal")
    assert now() == seen[-1]


def test_the_cache_keeps_a_current_board_until_its_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    cache = StandingsCache(0.05, clock)
    made: list[int] = []

    def make() -> int:
        made.append(len(made))
        return made[-1]

    still = {"current": True}
    assert cache.get("k", make, lambda _: still["current"]) == 0
    clock.advance(0.06)
    cache.get("k", make, lambda _: still["current"])  # stale: checked in the background
    wait_for(lambda: cache.peek("k") is not None, 5, "the check")
    assert made == [0]  # current: not made again
    still["current"] = False
    clock.advance(0.06)
    cache.get("k", make, lambda _: still["current"])
    wait_for(lambda: made == [0, 1], 5, "made again once changed")
    still["current"] = True
    monkeypatch.setattr(leaderboard_service, "MAX_AGE", 0.0)
    clock.advance(0.06)
    cache.get("k", make, lambda _: still["current"])
    wait_for(lambda: made == [0, 1, 2], 5, "made again once too old")


def test_a_hide_takes_the_final_leaderboard_from_anonymous_readers_at_once(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ada = arena.participant("ada@example.org")
    _scored(arena, ada, "weak")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    app = create_app(Settings(leaderboard_cache_seconds=60), arena.factory, Sent())
    admin = "/api/v1/admin/competitions/mico"
    with TestClient(app, base_url="https://testserver") as browser:
        assert browser.get(BOARD, params={"split": "final"}).status_code == 404
        assert browser.post(f"{admin}/reveal", headers=organizer).status_code == 200
        assert browser.get(BOARD, params={"split": "final"}).status_code == 200
        assert browser.post(f"{admin}/hide", headers=organizer).status_code == 204
        assert browser.get(BOARD, params={"split": "final"}).status_code == 404
        # Queries of no meaning to the leaderboard are answered, never kept.
        assert browser.get(BOARD, params={"x": "first"}).status_code == 200
        kept = len(app.state.standings._kept)  # the ranking itself, once
        for i in range(20):
            assert browser.get(BOARD, params={"x": str(i)}).status_code == 200
        assert len(app.state.standings._kept) == kept


def test_after_a_quiet_spell_a_reader_waits_for_a_current_leaderboard(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaderboard_service, "STALE_GRACE", 0.5)
    _, ada = arena.participant("ada@example.org")
    _scored(arena, ada, "weak")
    clock = FakeClock()
    app = create_app(Settings(leaderboard_cache_seconds=0.3), arena.factory, Sent(), clock=clock)
    with TestClient(app, base_url="https://testserver") as browser:
        assert [e["participant"] for e in browser.get(BOARD).json()["entries"]] == ["ada"]
        _, bob = arena.participant("bob@example.org")
        _scored(arena, bob, "strong")
        clock.advance(1.0)  # older than fresh plus the grace: not served any more
        names = [e["participant"] for e in browser.get(BOARD).json()["entries"]]
        assert names == ["bob", "ada"]
