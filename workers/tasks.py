"""The scoring task: an id in, the pipeline's idempotent scoring, done."""

from __future__ import annotations

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from app.core.config import get_settings
from app.core.db import sessions
from app.core.jobs import SCORE_TASK
from app.submissions.pipeline import score_submission
from workers.celery_app import celery

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
    """Score one submission: `scored`, `failed`, or `skipped` when already done."""
    return score_submission(sessions(), submission_id, get_settings().scoring_attempts)
