"""Knowing at once when a submission is done: the scoring transaction sends a PostgreSQL
NOTIFY as it commits, and each web process listens on one connection and wakes the requests
waiting for that submission. Without PostgreSQL (SQLite), waiters poll instead."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
CHANNEL = "mia_submission_done"
POLL_STEP = 0.05  # seconds before the first check again when nothing notifies
MAX_POLL_STEP = 1.0
MAX_WAITERS = 500  # requests of one process waiting at once; more are answered at once


def notify_done(session: Session, submission_id: int) -> None:
    """Say, when this transaction commits (never before, never if it rolls back), that the
    submission is done."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :id)"), {"channel": CHANNEL, "id": str(submission_id)}
        )


class DoneListener:
    """One LISTEN connection per web process; `wait` returns when a submission is done."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._waiters: defaultdict[int, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._count = 0
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="mia-done-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wait(
        self, submission_id: int, is_done: Callable[[], Awaitable[bool]], timeout: float
    ) -> None:
        """Until `is_done` or `timeout`: registered first, then checked, so no notice is
        missed; polled as well while the listening connection is down."""
        if self._count >= MAX_WAITERS:  # too many waiting already: answer now, unwaited
            return
        event = asyncio.Event()
        self._waiters[submission_id].add(event)
        self._count += 1
        poll = POLL_STEP
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not await is_done():
                left = deadline - loop.time()
                if left <= 0:
                    return
                step = left if self.listening.is_set() else min(left, poll)
                poll = min(poll * 1.5, MAX_POLL_STEP)  # polling backs off to once a second
                try:
                    await asyncio.wait_for(event.wait(), step)
                except TimeoutError:
                    continue
                event.clear()
        finally:
            self._count -= 1
            self._waiters[submission_id].discard(event)
            if not self._waiters[submission_id]:
                del self._waiters[submission_id]

    async def _listen(self) -> None:
        """Listen for as long as the process runs, reconnecting after a failure."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    async for notice in connection.notifies():
                        self._wake(notice.payload)
            except (psycopg.Error, OSError) as exc:
                log.warning("not listening for scored submissions (%s); retrying in 1 s", exc)
            self.listening.clear()
            self._wake_all()  # waiters go back to polling
            await asyncio.sleep(1)

    def _wake(self, payload: str) -> None:
        if payload.isdigit():
            for event in self._waiters.get(int(payload), ()):
                event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()
