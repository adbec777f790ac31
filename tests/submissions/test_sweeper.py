"""The sweeper: what waited too long is resent, what used every attempt fails as the server's
fault (not counted), and nothing fresh is touched."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.models.base import utcnow
from app.models.submission import Submission, SubmissionStatus
from app.submissions.pipeline import sweep
from tests.fixtures.arena import Arena


def _set(arena: Arena, submission_id: int, **values: object) -> None:
    arena.session.execute(update(Submission).where(Submission.id == submission_id).values(**values))
    arena.session.commit()


def test_the_sweeper_resends_stuck_submissions_and_gives_up_after_the_attempts(
    arena: Arena,
) -> None:
    _, headers = arena.participant("ada@example.org")
    data = arena.zip("cifar10-weak")
    fresh, lost, dead, hopeless = (arena.upload(headers, data).json()["id"] for _ in range(4))
    fresh_queued_at = arena.session.get_one(Submission, fresh).queued_at
    arena.sent.clear()
    long_ago = utcnow() - timedelta(minutes=10)
    _set(arena, lost, queued_at=long_ago)  # its message was lost
    _set(arena, dead, status="scoring", scoring_started_at=long_ago, attempts=1)  # worker died
    _set(arena, hopeless, status="scoring", scoring_started_at=long_ago, attempts=5)

    resent = sweep(arena.factory, arena.sent.send, stuck_after=timedelta(minutes=1), attempts=5)
    assert resent == [lost, dead] and arena.sent == [lost, dead]  # sent once committed
    rows = {i: arena.session.get_one(Submission, i) for i in (fresh, lost, dead, hopeless)}
    for row in rows.values():
        arena.session.refresh(row)
    assert rows[fresh].status is SubmissionStatus.QUEUED
    assert rows[fresh].queued_at == fresh_queued_at  # untouched
    assert rows[dead].status is SubmissionStatus.QUEUED and rows[dead].queued_at > long_ago
    assert rows[hopeless].status is SubmissionStatus.FAILED and rows[hopeless].server_fault
    assert "5 attempts" in (rows[hopeless].error or "")
    assert arena.score_sent() == ["scored", "scored"]
    # Resent just now: nothing more to do.
    assert sweep(arena.factory, arena.sent.send, stuck_after=timedelta(minutes=1), attempts=5) == []
