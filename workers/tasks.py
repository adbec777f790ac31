"""The tasks: an id in, the pipeline's idempotent scoring (or intervals), done."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from app.core.config import get_settings
from app.core.db import sessions
from app.core.jobs import INTERVALS_TASK, RESCORE_TASK, SCORE_TASK
from app.leaderboard.intervals import compute_intervals
from app.mail import outbox
from app.submissions.pipeline import rescore_step, score_then_intervals
from workers.celery_app import celery

# The database away for a moment: try again, waiting longer each time (then the sweeper).
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError)
RETRIED: dict[str, Any] = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 6,
}


@celery.task(  # type: ignore[untyped-decorator]
    name=SCORE_TASK,
    **RETRIED,
)
def score(submission_id: int) -> str:
    """Score one submission: `scored`, `failed`, or `skipped` when already done. Once its
    scores are committed (and shown), its intervals go to their own, lower-priority queue."""
    attempts = get_settings().scoring_attempts
    return score_then_intervals(sessions(), submission_id, attempts, _IntervalsTask())


class _IntervalsTask:
    """The intervals task as the pipeline's queue of intervals jobs, and this task as the
    queue of a bulk rescore's steps."""

    def send_intervals(self, submission_id: int) -> None:
        intervals.delay(submission_id)

    def send_rescore(self, track_id: int, after_id: int) -> None:
        rescore_track.delay(track_id, after_id)


@celery.task(  # type: ignore[untyped-decorator]
    name=RESCORE_TASK,
    **RETRIED,
)
def rescore_track(track_id: int, after_id: int) -> int:
    """One step of a track's bulk rescore: a few of its queued submissions above `after_id`
    claimed, the next step sent on (so every worker process joins in, uploads in turn between
    steps), then those scored. How many it took up; none ends the rescore."""
    attempts = get_settings().scoring_attempts
    return rescore_step(sessions(), track_id, after_id, attempts, _IntervalsTask())


@celery.task(  # type: ignore[untyped-decorator]
    name=INTERVALS_TASK,
    **RETRIED,
)
def intervals(submission_id: int) -> str:
    """A scored submission's bootstrap intervals: `done`, or `skipped` (done already, rescored
    or deleted meanwhile). Never fails the submission."""
    return compute_intervals(sessions(), submission_id)


@celery.task(name=outbox.SEND_TASK, max_retries=0)  # type: ignore[untyped-decorator]
def send_mail() -> int:
    """Send the outbox's due mails (claimed, so workers running this at once send each mail
    once): the number sent. A failure stays due; the worker's mailer retries it later."""
    return outbox.send_pending(sessions(), get_settings())
