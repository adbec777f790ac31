"""Bulk rescoring with the real services: PostgreSQL, a Redis of the test's own and real
`mia-arena worker` processes. Rescoring a track of 300 submissions (new ground truth, or the
command line) sends one message from the request, not 300; the workers pass it on and score
every submission once, uploads in turn; a worker killed in the middle loses nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import registrations
from app.core.config import Settings
from app.core.db import committing, sessions
from app.main import create_app
from app.models.phase import Phase
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import Role
from app.submissions.pipeline import BULK_FROM
from tests.admin.test_truth import API, flipped, truth_zip
from tests.fixtures.arena import seed_mico
from tests.fixtures.browser import PASSWORD
from tests.fixtures.database import migrated
from tests.fixtures.services import MIA_ARENA, RedisServer, Worker, wait_for

TRACK_SIZE = 300
STUCK_AFTER = 6  # the sweeper's patience, as in test_queue


@dataclass
class Rescoring:
    """The app on Redis, a worker (not started), and a track of TRACK_SIZE scored rows."""

    browser: TestClient
    headers: dict[str, str]  # ada, a participant
    organizer: dict[str, str]
    bob: dict[str, str]  # another, uploading during a rescore (ada's day is spent)
    factory: Callable[[], Session]
    worker: Worker
    redis: redis.Redis
    env: dict[str, str]
    demo: Path

    def upload(self, attack: str = "strong", headers: dict[str, str] | None = None) -> int:
        data = (self.demo / "submissions" / f"cifar10-{attack}.zip").read_bytes()
        answer = self.browser.post(
            "/api/v1/competitions/mico/tracks/cifar10/submissions",
            headers=headers or self.headers,
            files={"file": ("predictions.zip", data, "application/zip")},
        )
        assert answer.status_code == 202, answer.text
        submission_id: int = answer.json()["id"]
        return submission_id

    def messages(self) -> int:
        """Messages waiting in Redis for the workers (scoring and intervals queues)."""
        return int(self.redis.llen("scoring")) + int(self.redis.llen("intervals"))

    def counts(self) -> dict[SubmissionStatus, int]:
        with committing(self.factory()) as session:
            rows = session.execute(
                select(Submission.status, func.count()).group_by(Submission.status)
            ).tuples()
            return dict(rows.all())

    def wait_all_scored(self, timeout: float = 240) -> None:
        def done() -> bool:
            return self.counts() == {SubmissionStatus.SCORED: self.total()}

        try:
            wait_for(done, timeout, "every submission scored", every=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc} {self.counts()}\n{self.worker.tail()}") from None

    def total(self) -> int:
        with committing(self.factory()) as session:
            return session.scalar(select(func.count()).select_from(Submission)) or 0

    def auc(self) -> dict[int, float]:
        """Each submission's AUC on one scenario's dev split."""
        with committing(self.factory()) as session:
            rows = session.execute(
                select(Score.submission_id, Score.metrics, Score.scenario_id).where(
                    Score.split == "dev"
                )
            ).tuples()
            first = min(scenario for _, _, scenario in rows.all())
            rows = session.execute(
                select(Score.submission_id, Score.metrics).where(
                    Score.split == "dev", Score.scenario_id == first
                )
            ).tuples()
            return {submission: metrics["AUC"] for submission, metrics in rows}

    def attempts(self) -> set[int]:
        with committing(self.factory()) as session:
            return set(session.scalars(select(Submission.attempts).distinct()))

    def scores_each(self) -> set[int]:
        with committing(self.factory()) as session:
            rows = session.execute(
                select(func.count())
                .select_from(Submission)
                .join(Score, Score.submission_id == Submission.id)
                .group_by(Submission.id)
            )
            return set(rows.scalars())


@pytest.fixture
def rescoring(
    new_postgres_database: Callable[[], str],
    redis_server: RedisServer,
    demo: Path,
    tmp_path: Path,
) -> Iterator[Rescoring]:
    url = new_postgres_database()
    engine = migrated(url)
    factory = sessions(engine)
    _, headers = seed_mico(factory, demo)
    with committing(factory()) as session:
        org = auth.create_user(session, "org@example.org", PASSWORD, role=Role.ORGANIZER)
        registrations.add_organizer(
            session, registrations.competition_by_slug(session, "mico"), org
        )
        organizer = {"Authorization": f"Bearer {auth.create_token(session, org)[1]}"}
        bob = auth.create_user(session, "bob@example.org", PASSWORD, role=Role.PARTICIPANT)
        registrations.register(
            session, registrations.competition_by_slug(session, "mico"), bob, accept_terms=True
        )
        uploader = {"Authorization": f"Bearer {auth.create_token(session, bob)[1]}"}
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_server.url,
        "STUCK_AFTER_SECONDS": str(STUCK_AFTER),
        "SWEEP_INTERVAL_SECONDS": "0.5",
    }
    worker = Worker(env, tmp_path / "worker.log")
    app = create_app(Settings(database_url=url, redis_url=redis_server.url), factory)
    client = redis.Redis.from_url(redis_server.url)
    try:
        with TestClient(app, base_url="https://testserver") as browser:
            line = Rescoring(
                browser, headers, organizer, uploader, factory, worker, client, env, demo
            )
            _fill(line)
            yield line
    finally:
        worker.kill()
        client.close()
        engine.dispose()


def _fill(line: Rescoring) -> None:
    """Four real uploads scored by a worker, then copied (zip and all) to TRACK_SIZE rows,
    queued; one bulk rescore from the command line scores them all: the track as it stands
    before a replacement, with no message left waiting."""
    line.worker.start(concurrency=2)
    first = [line.upload(a) for a in ("strong", "medium", "weak", "random")]
    wait_for(lambda: line.counts() == {SubmissionStatus.SCORED: 4}, 60, "the uploads scored")
    line.worker.kill()
    with committing(line.factory()) as session:
        session.execute(
            text(
                "INSERT INTO submissions (user_id, team_id, track_id, phase_id, zip_bytes, "
                "sha256, size, description, status, server_fault, attempts, queued_at, "
                "pinned, created_at) "
                "SELECT user_id, team_id, track_id, phase_id, zip_bytes, sha256, size, "
                "description, 'queued', false, 0, queued_at, false, created_at "
                "FROM submissions, generate_series(1, :copies) "
                "WHERE id = ANY(:first) ORDER BY generate_series, id LIMIT :rows"
            ),
            {"copies": TRACK_SIZE // 4 + 1, "first": first, "rows": TRACK_SIZE - 4},
        )
    _cli(line, "--all")
    line.worker.start(concurrency=2)
    line.wait_all_scored()
    line.worker.kill()
    line.redis.delete("scoring", "intervals")  # intervals left waiting: not this test's


def _cli(line: Rescoring, *options: str) -> str:
    command = [MIA_ARENA, "submissions", "rescore", "mico", "--track", "cifar10", *options]
    done = subprocess.run(
        command, env={**os.environ, **line.env}, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_the_command_line_rescores_a_track_with_one_message_each_submission_once(
    rescoring: Rescoring,
) -> None:
    before = rescoring.auc()
    assert len(before) == TRACK_SIZE
    said = _cli(rescoring, "--all")
    assert f"{TRACK_SIZE} submissions of mico queued again" in said
    assert rescoring.messages() == 1  # not TRACK_SIZE
    assert rescoring.counts() == {SubmissionStatus.QUEUED: TRACK_SIZE}
    rescoring.worker.start(concurrency=2)
    rescoring.wait_all_scored()
    assert rescoring.auc() == before  # the same labels: the same scores
    assert rescoring.attempts() == {1}  # each claimed once
    assert rescoring.scores_each() == {6}  # 3 scenarios x 2 splits, nothing doubled


def test_new_ground_truth_is_one_message_and_survives_a_killed_worker(
    rescoring: Rescoring,
) -> None:
    """Replacing the labels sends one message; a worker killed mid-way, a new one finishes;
    uploads made during the rescore are scored too, and the progress counts are true."""
    before = rescoring.auc()
    answer = rescoring.browser.put(
        API,
        headers=rescoring.organizer,
        files={"file": ("t.zip", truth_zip(rescoring.demo, change=flipped), "application/zip")},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["progress"]["waiting"] == TRACK_SIZE
    assert rescoring.messages() == 1

    rescoring.worker.start(concurrency=2)

    def some_rescored() -> bool:
        return rescoring.counts().get(SubmissionStatus.SCORED, 0) >= 20

    wait_for(some_rescored, 120, "a part rescored", every=0.1)
    uploads = [rescoring.upload(a, rescoring.bob) for a in ("weak", "strong")]
    rescoring.worker.kill()  # mid-way, SIGKILL: claimed rows stay `scoring`
    progress = rescoring.browser.get(API, headers=rescoring.organizer).json()["progress"]
    assert 0 < progress["rescored"] < TRACK_SIZE and not progress["done"]
    rescoring.worker.start(concurrency=2)
    rescoring.wait_all_scored()
    progress = rescoring.browser.get(API, headers=rescoring.organizer).json()["progress"]
    assert (progress["rescored"], progress["waiting"], progress["done"]) == (
        TRACK_SIZE,
        0,
        True,
    )
    after = rescoring.auc()
    assert all(after[i] == pytest.approx(1 - auc, abs=1e-9) for i, auc in before.items())
    assert set(uploads) <= set(after)
    assert rescoring.scores_each() == {6}


def test_without_redis_the_server_rescores_a_big_track_in_its_own_threads(
    sqlite: Engine, demo: Path
) -> None:
    """Embedded mode (SQLite, no Redis, no worker): new ground truth on a track of
    BULK_FROM + 20 submissions is one job that the server's threads pass on until every
    submission is rescored against the new labels."""
    factory = sessions(sqlite)
    ada, _ = seed_mico(factory, demo)
    with committing(factory()) as session:
        org = auth.create_user(session, "org@example.org", PASSWORD, role=Role.ORGANIZER)
        competition = registrations.competition_by_slug(session, "mico")
        registrations.add_organizer(session, competition, org)
        organizer = {"Authorization": f"Bearer {auth.create_token(session, org)[1]}"}
        track = session.scalars(select(Track).where(Track.name == "cifar10")).one()
        phase_id = session.scalars(
            select(Phase.id).where(Phase.competition_id == competition.id).order_by(Phase.id)
        ).first()
        assert phase_id is not None
        data = (demo / "submissions" / "cifar10-strong.zip").read_bytes()
        session.add_all(
            Submission(
                user_id=ada,
                track_id=track.id,
                phase_id=phase_id,
                zip_bytes=data,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                status=SubmissionStatus.SCORED,
            )
            for _ in range(BULK_FROM + 20)
        )
    settings = Settings(database_url=str(sqlite.url), redis_url=None, sweep_interval_seconds=60)
    app = create_app(settings, factory)
    with TestClient(app, base_url="https://testserver") as browser:
        zipped = truth_zip(demo, change=flipped)
        answer = browser.put(API, headers=organizer, files={"file": ("t.zip", zipped)})
        assert answer.status_code == 202, answer.text

        def progress() -> dict[str, int]:
            shown: dict[str, int] = browser.get(API, headers=organizer).json()["progress"]
            return shown

        wait_for(lambda: progress()["done"], 120, "the rescore done", every=0.2)
        assert progress()["rescored"] == BULK_FROM + 20
    with committing(factory()) as session:
        rows = session.scalars(select(Score.metrics).where(Score.split == "dev").limit(3)).all()
        assert all(m["AUC"] < 0.5 for m in rows)  # the strong attack, on flipped labels
