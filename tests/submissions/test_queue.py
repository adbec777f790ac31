"""The queue with the real services: PostgreSQL, a Redis of the test's own and real
`mia-arena worker` processes; the app under test sends through Redis as in production.
Workers are killed with SIGKILL and Redis is stopped and restarted: nothing is lost, and
nothing is scored twice."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import committing, sessions
from app.main import create_app
from app.models.ranking import Ranking
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from tests.fixtures.arena import seed_mico
from tests.fixtures.database import migrated
from tests.fixtures.services import RedisServer, Worker, wait_for

# Seconds before the sweeper resends (60 in production); a task's soft time limit is half of
# it, so a worker held on a lock below is stopped after 3 s.
STUCK_AFTER = 6


@dataclass
class Line:
    """The whole pipeline: the app, a worker (not started), Redis, the database."""

    browser: TestClient
    headers: dict[str, str]
    factory: Callable[[], Session]
    worker: Worker
    redis: RedisServer
    demo: Path

    def upload(self, attack: str = "strong") -> int:
        data = (self.demo / "submissions" / f"cifar10-{attack}.zip").read_bytes()
        answer = self.browser.post(
            "/api/v1/competitions/mico/tracks/cifar10/submissions",
            headers=self.headers,
            files={"file": ("predictions.zip", data, "application/zip")},
        )
        assert answer.status_code == 202, answer.text
        submission_id: int = answer.json()["id"]
        return submission_id

    def status(self, submission_id: int) -> SubmissionStatus:
        with committing(self.factory()) as session:
            return session.get_one(Submission, submission_id).status

    def wait_scored(self, ids: list[int], timeout: float = 60) -> None:
        def done() -> bool:
            return all(self.status(i) is SubmissionStatus.SCORED for i in ids)

        try:
            wait_for(done, timeout, f"submissions {ids} scored", every=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker log ---\n{self.worker.tail()}") from None

    def scores_of(self, submission_id: int) -> int:
        with committing(self.factory()) as session:
            query = select(func.count()).where(Score.submission_id == submission_id)
            return session.scalar(query) or 0


@pytest.fixture
def line(
    new_postgres_database: Callable[[], str],
    redis_server: RedisServer,
    demo: Path,
    tmp_path: Path,
) -> Iterator[Line]:
    url = new_postgres_database()
    engine = migrated(url)
    factory = sessions(engine)
    _, headers = seed_mico(factory, demo)
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_server.url,
        "STUCK_AFTER_SECONDS": str(STUCK_AFTER),
        "SWEEP_INTERVAL_SECONDS": "0.5",
    }
    worker = Worker(env, tmp_path / "worker.log")
    app = create_app(Settings(database_url=url, redis_url=redis_server.url), factory)
    try:
        with TestClient(app, base_url="https://testserver") as browser:
            yield Line(browser, headers, factory, worker, redis_server, demo)
    finally:
        worker.kill()
        engine.dispose()


def test_uploads_are_scored_by_a_worker_through_redis(line: Line) -> None:
    line.worker.start(concurrency=2)
    ids = [line.upload(attack) for attack in ("strong", "medium", "weak", "random")]
    line.wait_scored(ids, timeout=30)
    shown = [line.browser.get(f"/api/v1/submissions/{i}", headers=line.headers).json() for i in ids]
    ranking = [s["scores"]["dev"]["ranking_score"] for s in shown]
    assert ranking == sorted(ranking, reverse=True) and ranking[0] > ranking[-1] + 0.3
    assert all(line.scores_of(i) == 6 for i in ids)
    assert all(s["queue_ms"] is not None and s["scoring_ms"] > 0 for s in shown)


def test_a_waiting_client_is_answered_as_soon_as_the_worker_is_done(line: Line) -> None:
    """`?wait=` long polling: one request, answered when the scoring transaction's NOTIFY
    arrives (long before the 20 s it may wait)."""
    line.worker.start()
    wait_for(lambda: line.browser.app.state.done.listening.is_set(), 10, "listening")
    answers: list[dict[str, object]] = []
    with committing(line.factory()) as blocker:
        blocker.execute(text("LOCK TABLE scores IN EXCLUSIVE MODE"))  # scoring waits on it
        submission = line.upload()
        path = f"/api/v1/submissions/{submission}"
        waiter = threading.Thread(
            target=lambda: answers.append(
                line.browser.get(path, params={"wait": 20}, headers=line.headers).json()
            )
        )
        waiter.start()
        time.sleep(1)  # the client is waiting, the worker too (held well within its limit)
        assert not answers
        released = time.monotonic()
        blocker.rollback()
    waiter.join(25)
    assert answers and answers[0]["status"] == "scored"
    assert time.monotonic() - released < 2


def test_a_worker_killed_while_scoring_leaves_it_scored_once(line: Line) -> None:
    """The worker is stopped dead (SIGKILL to it and its pool) between claiming a submission
    and writing its scores; a new worker's sweeper resends it, and it is scored exactly once."""
    line.worker.start()
    with committing(line.factory()) as blocker:
        # Hold the scores table: the worker claims the submission, then waits on this lock.
        blocker.execute(text("LOCK TABLE scores IN EXCLUSIVE MODE"))
        submission = line.upload()
        wait_for(lambda: line.status(submission) is SubmissionStatus.SCORING, 30, "scoring started")
        time.sleep(0.3)
        line.worker.kill()
        blocker.rollback()
    assert line.status(submission) is SubmissionStatus.SCORING and line.scores_of(submission) == 0
    line.worker.start()
    line.wait_scored([submission])
    assert line.scores_of(submission) == 6
    with committing(line.factory()) as session:
        assert session.get_one(Submission, submission).attempts == 2


def test_uploads_while_redis_is_down_are_all_scored_when_it_is_back(line: Line) -> None:
    line.worker.start()
    line.redis.stop()
    started = time.monotonic()
    ids = [line.upload() for _ in range(3)]
    assert time.monotonic() - started < 10  # accepted and stored, without waiting for Redis
    assert all(line.status(i) is SubmissionStatus.QUEUED for i in ids)
    line.redis.start()
    line.wait_scored(ids)
    assert all(line.scores_of(i) == 6 for i in ids)


def test_a_redis_restart_loses_its_messages_but_no_submission(line: Line) -> None:
    """Redis keeps nothing on disk here: queued messages die with it; the sweeper resends."""
    ids = [line.upload() for _ in range(3)]  # queued in Redis, no worker yet
    line.redis.stop()
    line.redis.start()
    line.worker.start()
    line.wait_scored(ids)
    assert all(line.scores_of(i) == 6 for i in ids)


def test_a_worker_computes_the_intervals_once_no_scoring_waits(line: Line) -> None:
    """`mia-arena worker` takes both queues, scoring first: with four uploads waiting, one
    process scores all four before it computes any interval (its log says in which order)."""
    ids = [line.upload(attack) for attack in ("strong", "medium", "weak", "random")]
    line.worker.start(concurrency=1)

    def intervals() -> list[float | None]:
        with committing(line.factory()) as session:
            query = select(Ranking.ci_low).where(Ranking.submission_id.in_(ids))
            return list(session.scalars(query))

    def all_done() -> bool:
        found = intervals()
        return len(found) == 8 and None not in found

    line.wait_scored(ids)
    wait_for(all_done, 60, f"intervals of {ids}\n{line.worker.tail()}", every=0.2)
    log = line.worker.log.read_text()
    finished = re.findall(r"Task (mia\.\w+)\[[^\]]+\] succeeded", log)
    # On a loaded machine the worker's own sweeper (STUCK_AFTER s) may resend a message that
    # waited that long; the duplicate does nothing, but it is logged. What must hold: every
    # scoring before the first interval, and each submission's intervals stored (all_done).
    scored = [i for i, name in enumerate(finished) if name == "mia.score_submission"]
    computed = [i for i, name in enumerate(finished) if name == "mia.ranking_intervals"]
    assert len(scored) >= 4 and len(computed) >= 4, finished
    assert max(scored) < min(computed), finished
    entries = line.browser.get("/api/v1/competitions/mico/tracks/cifar10/leaderboard").json()
    (entry,) = entries["entries"]  # ada's latest
    assert entry["ci_low"] <= entry["ranking_score"] <= entry["ci_high"]
