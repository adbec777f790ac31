"""The tasks: an id in, the pipeline's idempotent scoring (or intervals), done."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from app.core.config import get_settings
from app.core.db import sessions
from app.core.jobs import INTERVALS_TASK, SCORE_TASK
from app.submissions.intervals import compute_intervals
from app.submissions.pipeline import score_submission
from workers.celery_app import celery

log = logging.getLogger(__name__)
# The database away for a moment: try again, waiting longer each time (then the sweeper).
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError)


@celery.task(  # type: ignore[untyped-decorator]
    name=SCORE_TASK,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=6,
)
def score(submission_id: int) -> str:
    """Score one submission: `scored`, `failed`, or `skipped` when already done. Once its
    scores are committed (and shown), its intervals go to their own, lower-priority queue."""
    outcome = score_submission(sessions(), submission_id, get_settings().scoring_attempts)
    if outcome == "scored":
        try:
            intervals.delay(submission_id)
        except Exception:  # the scores stand; the sweeper sends the intervals job later
            log.warning("could not queue the intervals of %s; the sweeper will", submission_id)
    return outcome


@celery.task(  # type: ignore[untyped-decorator]
    name=INTERVALS_TASK,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=6,
)
def intervals(submission_id: int) -> str:
    """A scored submission's bootstrap intervals: `done`, or `skipped` (done already, rescored
    or deleted meanwhile). Never fails the submission."""
    return compute_intervals(sessions(), submission_id)
