"""Sending scoring work, only once the rows it needs are committed: to Celery workers through
Redis, or (without REDIS_URL) to threads of this process running the same code."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from celery import Celery
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

SCORE_TASK = "mia.score_submission"
QUEUE = "scoring"
_PENDING = "mia_after_commit"


class Dispatcher(Protocol):
    """Where submissions to score are sent."""

    def send(self, submission_id: int) -> None:
        """Ask for one submission to be scored; never raises (the sweeper resends)."""

    def close(self) -> None:
        """Stop taking work."""


def celery_settings(redis_url: str) -> dict[str, Any]:
    """The settings the web server (sending) and the workers (taking) must agree on."""
    return {
        "broker_url": redis_url,
        "task_default_queue": QUEUE,
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a worker waits for Redis to come back
        "broker_connection_timeout": 2,
        # An unacknowledged message comes back after this long (the sweeper is quicker).
        "broker_transport_options": {
            "visibility_timeout": 3600,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
    }


class CeleryDispatcher:
    """Sends tasks to the Celery workers through Redis."""

    def __init__(self, redis_url: str) -> None:
        self.celery = Celery("mia-arena", set_as_current=False)
        self.celery.conf.update(celery_settings(redis_url))

    def send(self, submission_id: int) -> None:
        try:
            self.celery.send_task(
                SCORE_TASK,
                args=[submission_id],
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
            )
        except Exception:  # the row is stored: the sweeper sends it again when Redis is back
            log.warning("could not queue submission %s; the sweeper will resend it", submission_id)

    def close(self) -> None:
        self.celery.close()


class ThreadDispatcher:
    """Scores in this process, on a few threads: the embedded mode, with no Redis or worker."""

    def __init__(self, run: Callable[[int], object], threads: int) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="mia-scorer")

    def send(self, submission_id: int) -> None:
        self._pool.submit(self._logged, submission_id)

    def _logged(self, submission_id: int) -> None:
        try:
            self._run(submission_id)
        except Exception:  # left queued or scoring: the sweeper tries again
            log.exception("scoring submission %s failed; the sweeper will retry", submission_id)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction commits; forget it if it rolls back."""
    session.info.setdefault(_PENDING, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    for action in session.info.pop(_PENDING, []):
        action()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
