"""The representatives table that ranking reads: after every kind of change made as users make
them, it holds what working it out afresh from all submissions gives; two transactions
changing one owner at once leave both changes in it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from app.core.db import committing, sessions
from app.models import representative
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.representative import Representative
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import Role
from app.submissions.pipeline import rescore_track
from app.teams import service as teams
from tests.fixtures.arena import Arena, seed_mico
from tests.fixtures.database import migrated
from tests.fixtures.services import wait_for

BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"
ADMIN = "/api/v1/admin/competitions/mico"


def _rows(session: Session) -> list[tuple[object, ...]]:
    session.expire_all()
    return sorted(
        tuple(row)
        for row in session.execute(
            select(
                Representative.track_id,
                Representative.split,
                Representative.benchmark,
                Representative.owner,
                Representative.submissions,
                Representative.latest_id,
                Representative.best_id,
                Representative.pinned_latest_id,
                Representative.pinned_best_id,
            )
        )
    )


def _afresh(session: Session) -> list[tuple[object, ...]]:
    """The rows worked out from every submission (then rolled back, and only they: what the
    session holds is committed first)."""
    session.commit()
    for track_id in session.scalars(select(Track.id)).all():
        representative.rebuild(session, track_id)
    rows = _rows(session)
    session.rollback()
    return rows


def _owners(arena: Arena, headers: dict[str, str]) -> list[str]:
    entries = arena.browser.get(BOARD, params={"split": "dev"}, headers=headers).json()["entries"]
    return sorted(f"{e['participant']}:{e['submissions']}" for e in entries)


def test_every_kind_of_change_leaves_the_rows_as_worked_out_afresh(arena: Arena) -> None:
    ada_user, ada = arena.participant("ada@example.org")
    bob_user, _ = arena.participant("bob@example.org")
    carl_user, carl = arena.participant("carl@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)

    def agrees(step: str, owners: list[str]) -> None:
        kept = _rows(arena.session)
        assert kept == _afresh(arena.session), f"after {step}"
        assert _owners(arena, organizer) == owners, f"after {step}"

    def upload(headers: dict[str, str], attack: str) -> int:
        submission: int = arena.upload(headers, arena.zip(f"cifar10-{attack}")).json()["id"]
        assert arena.score_sent() == ["scored"]
        return submission

    weak = upload(ada, "weak")
    upload(ada, "strong")
    carls = upload(carl, "medium")
    agrees("three scores", ["ada:2", "carl:1"])

    arena.session.execute(update(Phase).values(allow_pinning=True))
    arena.session.commit()
    pin = f"/api/v1/submissions/{weak}/pin"
    assert arena.browser.post(pin, headers=ada).json()["pinned"] is True
    agrees("a pin", ["ada:2", "carl:1"])
    assert arena.browser.delete(pin, headers=ada).json()["pinned"] is False
    agrees("an unpin", ["ada:2", "carl:1"])

    disqualify = f"{ADMIN}/submissions/{carls}/disqualify"
    answer = arena.browser.post(disqualify, headers=organizer, json={"reason": "copied"})
    assert answer.status_code == 200, answer.text
    agrees("a disqualification", ["ada:2"])
    assert arena.browser.post(disqualify, headers=organizer, json={"reason": None}).is_success
    agrees("a requalification", ["ada:2", "carl:1"])

    participant = f"{ADMIN}/participants/{carl_user.id}"
    answer = arena.browser.patch(participant, headers=organizer, json={"status": "banned"})
    agrees("a ban", ["ada:2"])
    assert arena.browser.patch(
        participant, headers=organizer, json={"status": "approved"}
    ).is_success
    agrees("an unban", ["ada:2", "carl:1"])

    team = teams.create_team(arena.session, ada_user, "Lovelace")
    teams.join_team(arena.session, bob_user, team.invite_code)
    arena.session.commit()
    upload(ada, "random")  # the team's
    agrees("a team's score", ["Lovelace:1", "ada:2", "carl:1"])
    teams.leave_team(arena.session, bob_user)
    teams.leave_team(arena.session, ada_user)  # the last one: the team goes, its upload is ada's
    arena.session.commit()
    agrees("a team removed", ["ada:3", "carl:1"])

    answer = arena.browser.post(f"{ADMIN}/submissions/{weak}/rescore", headers=organizer)
    assert answer.status_code == 202, answer.text
    agrees("one queued again", ["ada:2", "carl:1"])
    assert arena.score_sent() == ["scored"]
    agrees("its new score", ["ada:3", "carl:1"])

    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()
    assert rescore_track(arena.session, arena.sent, track.id) == 4
    arena.session.commit()
    agrees("a track queued again", [])
    assert arena.score_sent() == ["scored"] * 4
    agrees("its new scores", ["ada:3", "carl:1"])


def test_two_transactions_scoring_one_owner_at_once_leave_both_in_the_row(
    new_postgres_database: Callable[[], str], demo: Path
) -> None:
    """The second transaction waits for the first's lock on the owner, then reads what it
    committed: without the lock it would write the owner's row from what it saw alone."""
    engine = migrated(new_postgres_database())
    factory = sessions(engine)
    ada, _ = seed_mico(factory, demo)
    with committing(factory()) as session:
        track = session.scalars(select(Track).where(Track.name == "cifar10")).one()
        phase = session.scalars(select(Phase).where(Phase.name == "Development")).one()
        queued = [  # as a rescore leaves them: scores in, not yet ranked
            Submission(
                user_id=ada,
                track_id=track.id,
                phase_id=phase.id,
                zip_bytes=b"",
                sha256="0" * 64,
                size=0,
            )
            for _ in range(2)
        ]
        session.add_all(queued)
        session.flush()
        session.add_all(
            Ranking(submission_id=s.id, split=split, ranking_score=0.5)
            for s in queued
            for split in ("dev", "final")
        )
    first, second = (s.id for s in queued)
    one, other = factory(), factory()
    one.get_one(Submission, first).status = SubmissionStatus.SCORED
    one.flush()  # its row worked out, the owner's lock held until it commits
    done = threading.Event()

    def score_the_other() -> None:
        with committing(other):
            other.get_one(Submission, second).status = SubmissionStatus.SCORED
        done.set()

    thread = threading.Thread(target=score_the_other)
    thread.start()
    wait_for(lambda: _waiting_on_a_lock(engine), 10, "the other transaction to wait")
    assert not done.is_set()
    one.commit()
    thread.join(10)
    assert done.is_set()
    with committing(factory()) as check:
        assert [r[4] for r in _rows(check)] == [2, 2]  # dev and final: both counted
        assert _rows(check) == _afresh(check)
    one.close()
    engine.dispose()


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        )


def test_thousands_of_owners_at_once_lock_their_track_not_each_owner(arena: Arena) -> None:
    """PostgreSQL's lock table holds a few thousand locks in all: a track queued again whole
    (200,001 owners here: enough to fill it) must not ask for one each."""
    _, ada = arena.participant("ada@example.org")
    arena.upload(ada, arena.zip("cifar10-weak"))
    assert arena.score_sent() == ["scored"]
    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()
    representative.refresh(arena.session, track.id, range(-100_000, 100_001))
    arena.session.commit()
    assert len(_rows(arena.session)) == 2  # ada's, dev and final
    assert _rows(arena.session) == _afresh(arena.session)
