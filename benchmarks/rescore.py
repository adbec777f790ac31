"""A ground-truth replacement on a big track: how many messages its request sends, and how fast
the workers rescore every submission.

On a throwaway PostgreSQL database and this machine's Redis: MICO from demo truth, N scored
cifar10 submissions (copies of the demo's four attacks), `mia-arena worker -c 2`; then the
organizers' replacement (flipped labels) in this process, as the API runs it, sending through a
counting Celery dispatcher; then the track's progress, polled as the admin page shows it, until
every submission is rescored. Prints the messages sent from the request, its time, rescored per
second and the total time. Everything is stopped and dropped at the end.

    .venv/bin/python benchmarks/rescore.py [--submissions 10000] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select, text
from throwaway import throwaway_database  # benchmarks/throwaway.py

from app.admin.truth import service as truth
from app.auth import service as auth
from app.competitions import registrations
from app.competitions.service import import_mico
from app.core.db import SessionFactory, committing, make_engine, sessions, upgrade
from app.core.jobs import CeleryDispatcher
from app.models.phase import Phase
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import Role, User
from app.scoring.demo import write_demo_data

MIA_ARENA = str(Path(sys.executable).with_name("mia-arena"))


class Counting(CeleryDispatcher):
    """The production dispatcher, counting what it sends."""

    sent = 0

    def send(self, submission_id: int) -> None:
        self.sent += 1
        super().send(submission_id)

    def send_rescore(self, track_id: int, after_id: int) -> None:
        self.sent += 1
        super().send_rescore(track_id, after_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="the worker's processes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, throwaway_database() as url:
        demo = Path(folder)
        write_demo_data(demo, ["cifar10"], seed=7)
        engine = make_engine(url)
        with engine.begin() as connection:
            upgrade(connection)
        factory = sessions(engine)
        started = time.perf_counter()
        organizer = _fill(factory, demo, args.submissions)
        print(
            f"{args.submissions} scored submissions stored in {time.perf_counter() - started:.1f} s"
        )
        env = {"DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": secrets.token_hex(32)}
        log = demo / "worker.log"
        with _worker(env, args, log):
            dispatcher = Counting(args.redis)
            started = time.perf_counter()
            with committing(factory()) as session:
                competition = registrations.competition_by_slug(session, "mico")
                track = session.scalars(select(Track).where(Track.name == "cifar10")).one()
                version = truth.replace_truth(
                    session,
                    competition,
                    session.get_one(User, organizer.id),
                    track,
                    _flipped_truth(demo / "truth"),
                    filename="truth.zip",
                    max_bytes=64 * 1024 * 1024,
                    dispatcher=dispatcher,
                )
                assert version is not None
            request = time.perf_counter() - started
            print(f"request: {request * 1000:.0f} ms, messages sent from it: {dispatcher.sent}")
            rescored, failed = _wait(factory, track.id, args, started, log)
        total = time.perf_counter() - started
        print(
            f"rescored {rescored} ({failed} failed) in {total:.1f} s: "
            f"{rescored / total:.1f} rescored per second with {args.concurrency} worker processes"
        )
        dispatcher.close()
        engine.dispose()


def _fill(factory: SessionFactory, demo: Path, count: int) -> User:
    """MICO; ada's four demo attacks stored as rows, copied to `count` scored rows (their
    scores are not needed: the rescore replaces them); an organizer, returned."""
    with committing(factory()) as session:
        competition = import_mico(session, demo / "truth").competition
        ada = auth.create_user(session, "ada@example.org", "x" * 12, role=Role.PARTICIPANT)
        registrations.register(session, competition, ada, accept_terms=True)
        org = auth.create_user(session, "org@example.org", "x" * 12, role=Role.ORGANIZER)
        registrations.add_organizer(session, competition, org)
        cifar = session.scalars(select(Track).where(Track.name == "cifar10")).one()
        phase_id = session.scalars(
            select(Phase.id).where(Phase.competition_id == competition.id).order_by(Phase.id)
        ).first()
        assert phase_id is not None
        for path in sorted((demo / "submissions").glob("cifar10-*.zip")):
            data = path.read_bytes()
            session.add(
                Submission(
                    user_id=ada.id,
                    track_id=cifar.id,
                    phase_id=phase_id,
                    zip_bytes=data,
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data),
                    status=SubmissionStatus.SCORED,
                )
            )
        session.flush()
        session.execute(
            text(
                "INSERT INTO submissions (user_id, team_id, track_id, phase_id, zip_bytes, "
                "sha256, size, description, status, server_fault, attempts, queued_at, "
                "pinned, created_at) "
                "SELECT user_id, team_id, track_id, phase_id, zip_bytes, sha256, size, "
                "description, status, false, 1, queued_at, false, created_at "
                "FROM submissions, generate_series(1, :copies) "
                "ORDER BY generate_series, id LIMIT :rows"
            ),
            {"copies": count // 4 + 1, "rows": count - 4},
        )
        return org


def _flipped_truth(root: Path) -> bytes:
    """The demo's cifar10 labels zipped as organizers would, every member a non-member."""
    buffer = io.BytesIO()
    flip = bytes.maketrans(b"01", b"10")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((root / "cifar10").rglob("solution.csv")):
            zf.writestr(str(path.relative_to(root)), path.read_bytes().translate(flip))
    return buffer.getvalue()


@contextmanager
def _worker(env: dict[str, str], args: argparse.Namespace, log: Path) -> Iterator[None]:
    """`mia-arena worker` on a flushed Redis database, ready; stopped at the end."""
    subprocess.run(["redis-cli", "-u", args.redis, "FLUSHDB"], check=False, capture_output=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [MIA_ARENA, "worker", "--concurrency", str(args.concurrency), "--loglevel", "warning"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        time.sleep(4)  # the worker's start (its log is quiet at --loglevel warning)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _wait(
    factory: SessionFactory, track_id: int, args: argparse.Namespace, started: float, log: Path
) -> tuple[int, int]:
    """The progress, as the admin page shows it, every few seconds until done: (rescored,
    failed)."""
    shown = 0.0
    while True:
        with committing(factory()) as session:
            progress = truth.progress(session, session.get_one(Track, track_id))
        assert progress is not None
        elapsed = time.perf_counter() - started
        if progress.done:
            return progress.rescored, progress.failed
        if elapsed - shown >= 10:
            shown = elapsed
            print(f"  {elapsed:6.0f} s: {progress.rescored}/{progress.total} rescored", flush=True)
        if elapsed > args.timeout:
            sys.exit(f"gave up after {elapsed:.0f} s\n{log.read_text()[-2000:]}")
        time.sleep(0.5)


if __name__ == "__main__":
    main()
