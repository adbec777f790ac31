"""The workers' Celery app: Redis as broker, late acknowledgement, a sweeper in each worker.

A message is acknowledged only once its task has finished, and given back when the process
running it dies, so a crash never loses a submission; the task is idempotent, so running one
twice is harmless. The sweeper (one at a time, by a PostgreSQL advisory lock) resends what a
lost message or a dead worker left queued or scoring.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from app.core.config import get_settings
from app.core.db import engine, sessions
from app.core.jobs import CeleryDispatcher, celery_settings
from app.core.logs import configure_logging
from app.mail import outbox
from app.submissions.pipeline import Sweeper

log = logging.getLogger(__name__)
settings = get_settings()
if not settings.redis_url:
    raise RuntimeError(
        "REDIS_URL is not set: workers take submissions from Redis. Without Redis, "
        "`mia-arena serve` scores in-process and needs no worker."
    )

celery = Celery("mia-arena", include=["workers.tasks"])
celery.conf.update(
    celery_settings(settings.redis_url),
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # A task is stopped well before the sweeper would resend it (stuck_after_seconds).
    task_soft_time_limit=max(1, int(settings.stuck_after_seconds / 2)),
    task_time_limit=max(2, int(settings.stuck_after_seconds * 3 / 4)),
    worker_hijack_root_logger=False,
)


def _fresh_connections(**_: Any) -> None:
    """A forked pool process must not share its parent's database connections."""
    engine().dispose(close=False)


def _logging(loglevel: int | str | None = None, **_: Any) -> None:
    """The project's logging (JSON lines in production) instead of Celery's own; the worker's
    --loglevel still sets the level."""
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel
    configure_logging(settings, level=str(level).upper() if level else None)


def _start_sweeper(**_: Any) -> None:
    if not settings.worker_sweeper:
        return
    Sweeper.from_settings(sessions(), CeleryDispatcher(settings.redis_url or ""), settings).start()
    # The outbox's retries, and the phase notices, on the same timer as the sweeper.
    mailer = outbox.Mailer(sessions(), settings)
    mailer.start()
    outbox.wakers.append(mailer.woken.set)
    log.info(
        "sweeper started: every %ss, resending after %ss",
        settings.sweep_interval_seconds,
        settings.stuck_after_seconds,
    )


signals.setup_logging.connect(_logging)  # connected: Celery then configures no logging itself
signals.worker_process_init.connect(_fresh_connections)
signals.worker_ready.connect(_start_sweeper)
