"""Embedded mode: without REDIS_URL the server scores in its own threads with the same task
code, and its sweeper picks up what a crash left queued. No Redis, no worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import committing, sessions
from app.main import create_app
from app.models.base import utcnow
from app.models.ranking import Ranking
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from tests.fixtures.arena import seed_mico
from tests.fixtures.services import wait_for


@pytest.fixture
def embedded(sqlite: Engine, demo: Path) -> Iterator[tuple[TestClient, dict[str, str], Engine]]:
    _, headers = seed_mico(sessions(sqlite), demo)
    settings = Settings(
        database_url=str(sqlite.url),
        redis_url=None,
        sweep_interval_seconds=0.2,
        stuck_after_seconds=1,
    )
    app = create_app(settings, sessions(sqlite))
    with TestClient(app, base_url="https://testserver") as browser:
        yield browser, headers, sqlite


def _status(engine: Engine, submission_id: int) -> SubmissionStatus:
    with Session(engine) as session:
        return session.get_one(Submission, submission_id).status


def test_without_redis_the_server_scores_uploads_itself(
    embedded: tuple[TestClient, dict[str, str], Engine], demo: Path
) -> None:
    browser, headers, engine = embedded
    data = (demo / "submissions" / "cifar10-strong.zip").read_bytes()
    answer = browser.post(
        "/api/v1/competitions/mico/tracks/cifar10/submissions",
        headers=headers,
        files={"file": ("p.zip", data, "application/zip")},
    )
    assert answer.status_code == 202
    submission = answer.json()["id"]
    wait_for(lambda: _status(engine, submission) is SubmissionStatus.SCORED, 20, "scored")
    shown = browser.get(f"/api/v1/submissions/{submission}", headers=headers).json()
    assert shown["scores"]["dev"]["ranking_score"] > 0.5


def test_the_embedded_sweeper_scores_what_a_crash_left_queued(
    embedded: tuple[TestClient, dict[str, str], Engine], demo: Path
) -> None:
    browser, headers, engine = embedded
    data = (demo / "submissions" / "cifar10-weak.zip").read_bytes()
    # Stored and then the server stopped before sending it: left as the crash left it.
    submission = browser.post(
        "/api/v1/competitions/mico/tracks/cifar10/submissions",
        headers=headers,
        files={"file": ("p.zip", data, "application/zip")},
    ).json()["id"]
    wait_for(lambda: _status(engine, submission) is SubmissionStatus.SCORED, 20, "scored")
    # As a crash between storing and sending leaves it: queued, with no task on its way.
    with committing(Session(engine)) as session:
        session.execute(delete(Score).where(Score.submission_id == submission))
        session.execute(
            update(Submission)
            .where(Submission.id == submission)
            .values(status="queued", attempts=0, queued_at=utcnow() - timedelta(minutes=5))
        )
    wait_for(lambda: _status(engine, submission) is SubmissionStatus.SCORED, 20, "re-scored")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(Score.submission_id == submission)) == 6


def _intervals(engine: Engine, submission_id: int) -> list[float | None]:
    with Session(engine) as session:
        rows = session.scalars(select(Ranking).where(Ranking.submission_id == submission_id))
        return [r.ci_low for r in rows]


def test_without_redis_the_server_computes_the_intervals_after_the_score(
    embedded: tuple[TestClient, dict[str, str], Engine], demo: Path
) -> None:
    browser, headers, engine = embedded
    data = (demo / "submissions" / "cifar10-medium.zip").read_bytes()
    submission = browser.post(
        "/api/v1/competitions/mico/tracks/cifar10/submissions",
        headers=headers,
        files={"file": ("p.zip", data, "application/zip")},
    ).json()["id"]
    wait_for(lambda: _status(engine, submission) is SubmissionStatus.SCORED, 20, "scored")
    wait_for(lambda: None not in _intervals(engine, submission), 20, "intervals")
    (entry,) = browser.get("/api/v1/competitions/mico/tracks/cifar10/leaderboard").json()["entries"]
    assert entry["ci_low"] <= entry["ranking_score"] <= entry["ci_high"]

    # As a crash before the job ran leaves it: the embedded sweeper sends it again.
    with committing(Session(engine)) as session:
        session.execute(
            update(Ranking)
            .where(Ranking.submission_id == submission)
            .values(ci_low=None, ci_high=None, ci_sent_at=utcnow() - timedelta(minutes=5))
        )
    wait_for(lambda: None not in _intervals(engine, submission), 20, "intervals again")
