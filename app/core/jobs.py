"""Sending scoring work, only once the rows it needs are committed: to Celery workers through
Redis, or (without REDIS_URL) to threads of this process running the same code. Two kinds of
work: scoring, and after it, at lower priority, the ranking score's bootstrap intervals. A bulk
rescore (new ground truth on a whole track) is one message that the workers pass on: each step
claims a few rows, sends the next step, then scores them (see `pipeline.rescore_step`)."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

from celery import Celery
from sqlalchemy import event, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

SCORE_TASK = "mia.score_submission"
QUEUE = "scoring"
RESCORE_TASK = "mia.rescore_track"  # on the scoring queue: uploads wait behind one step only
INTERVALS_TASK = "mia.ranking_intervals"
INTERVALS_QUEUE = "intervals"  # taken only when no submission waits to be scored
_PENDING = "mia_after_commit"
SWEEP_LOCK = 0x6D69615F7377  # "mia_sw": one sweeper at a time across every machine


class Dispatcher(Protocol):
    """Where submissions to score are sent."""

    def send(self, submission_id: int) -> None:
        """Ask for one submission to be scored; never raises (the sweeper resends)."""

    def send_intervals(self, submission_id: int) -> None:
        """Ask for a scored submission's intervals, after any scoring waiting; never raises."""

    def send_rescore(self, track_id: int, after_id: int) -> None:
        """Ask for the next step of a track's bulk rescore: its queued submissions with an id
        above `after_id`; never raises (the sweeper starts it again)."""

    def close(self) -> None:
        """Stop taking work."""


def celery_settings(redis_url: str) -> dict[str, Any]:
    """The settings the web server (sending) and the workers (taking) must agree on."""
    return {
        "broker_url": redis_url,
        "task_default_queue": QUEUE,
        "task_routes": {INTERVALS_TASK: {"queue": INTERVALS_QUEUE}},
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a worker waits for Redis to come back
        "broker_connection_timeout": 2,
        # An unacknowledged message comes back after this long (the sweeper is quicker).
        "broker_transport_options": {
            "visibility_timeout": 3600,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            # A worker on both queues asks Redis for scoring first, always (the default,
            # round_robin, would alternate and let intervals delay the visible scores).
            "queue_order_strategy": "priority",
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

    def send_intervals(self, submission_id: int) -> None:
        try:
            self.celery.send_task(
                INTERVALS_TASK, args=[submission_id], queue=INTERVALS_QUEUE, retry=False
            )
        except Exception:  # the sweeper sends it again
            log.warning("could not queue the intervals of %s; the sweeper will", submission_id)

    def send_rescore(self, track_id: int, after_id: int) -> None:
        try:
            self.celery.send_task(
                RESCORE_TASK,
                args=[track_id, after_id],
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
            )
        except Exception:  # the rows stay queued: the sweeper starts the rescore again
            log.warning("could not queue the rescore of track %s; the sweeper will", track_id)

    def close(self) -> None:
        self.celery.close()


_SCORE, _STOP, _INTERVALS = 0, 1, 2  # priorities: lower first (a rescore step is scoring)


class ThreadDispatcher:
    """Scores in this process, on a few threads: the embedded mode, with no Redis or worker.
    A thread takes an intervals job only when no submission waits to be scored."""

    def __init__(
        self,
        run: Callable[[int], object],
        threads: int,
        intervals: Callable[[int], object] | None = None,
        rescore: Callable[[int, int], object] | None = None,
    ) -> None:
        self._jobs: dict[int, Callable[..., object] | None] = {_SCORE: run, _INTERVALS: intervals}
        self._rescore = rescore
        self._closing = False
        self._waiting: queue.PriorityQueue[tuple[int, int, tuple[int, ...]]] = queue.PriorityQueue()
        self._order = itertools.count()  # first come, first served within a priority
        self._threads = [
            threading.Thread(target=self._work, name=f"mia-scorer-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def send(self, submission_id: int) -> None:
        self._waiting.put((_SCORE, next(self._order), (submission_id,)))

    def send_intervals(self, submission_id: int) -> None:
        if self._jobs[_INTERVALS] is not None:
            self._waiting.put((_INTERVALS, next(self._order), (submission_id,)))

    def send_rescore(self, track_id: int, after_id: int) -> None:
        """A step in turn with the uploads; dropped once closing (the rows stay queued for the
        sweeper), so a long rescore does not hold the server's shutdown."""
        if self._rescore is not None and not self._closing:
            self._waiting.put((_SCORE, next(self._order), (track_id, after_id)))

    def _work(self) -> None:
        while True:
            kind, _, args = self._waiting.get()
            run = self._jobs.get(kind) if len(args) == 1 else self._rescore
            if run is None:  # stop (intervals still waiting are the sweeper's, later)
                return
            if len(args) == 2 and self._closing:
                continue
            try:
                run(*args)
            except Exception:  # left as it was: the sweeper tries again
                log.exception("job %s %s failed; the sweeper retries", kind, args)

    def close(self) -> None:
        """Finish the scoring that waits (not a bulk rescore's next steps), then stop."""
        self._closing = True
        for _ in self._threads:
            self._waiting.put((_STOP, next(self._order), (-1,)))
        for thread in self._threads:
            thread.join()


def sweep_lock(session: Session) -> bool:
    """One sweeper at a time on PostgreSQL (a transaction-scoped advisory lock)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK}))


def send_each(send: Callable[[int], None], ids: list[int]) -> None:
    """Send each id; a dispatcher's send never raises."""
    for submission_id in ids:
        send(submission_id)


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
