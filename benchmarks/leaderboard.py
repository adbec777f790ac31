"""Leaderboard latency with a full database: 100,000 scored submissions from 2,000 participants
on one track, read by 16 concurrent readers through `mia-arena serve` (after 3 s of warm-up).

Fills a throwaway PostgreSQL database (COPY: a minute or so), starts the web server (two
processes), and times the leaderboard page and its API at p50 and p99; also the time to
compute the ranking afresh (what a reader pays when the per-process cache has expired).

    .venv/bin/python benchmarks/leaderboard.py [--submissions 100000] [--participants 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import numpy as np
import psycopg
from sqlalchemy import select, text
from throwaway import rebuild_representatives, served, throwaway_database  # benchmarks/throwaway.py

from app.auth.passwords import hash_password
from app.competitions.service import import_mico
from app.core.db import committing, make_engine, sessions, upgrade
from app.leaderboard.service import standings
from app.models.competition import Competition
from app.models.scenario import Scenario
from app.models.track import Track
from app.scoring.bootstrap import REPLICATES
from app.scoring.demo import write_demo_data

METRICS = (
    "TPR_FPR_10",
    "TPR_FPR_100",
    "TPR_FPR_500",
    "TPR_FPR_1000",
    "TPR_FPR_1500",
    "TPR_FPR_2000",
    "AUC",
    "MIA",
    "accuracy",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=2_000)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument(
        "--requests", type=int, default=100, help="per reader and endpoint (without wrk)"
    )
    args = parser.parse_args()
    with throwaway_database() as url:
        started = time.perf_counter()
        fill(url, args.submissions, args.participants)
        print(
            f"filled {args.submissions:,} scored submissions of {args.participants:,} "
            f"participants in {time.perf_counter() - started:.0f} s"
        )
        _fresh(url)
        with _server(url) as base:
            for name, path in [
                ("page", "/competitions/mico/tracks/cifar10/leaderboard?split=dev"),
                ("API", "/api/v1/competitions/mico/tracks/cifar10/leaderboard?split=dev"),
            ]:
                _read(base + path, name, args.readers, args.requests)


def fill(url: str, count: int, participants: int, *, replicates: bool = False) -> Path:
    """MICO's cifar10 track, then participants and submissions by COPY, scores and intervals
    included, and with `replicates` each ranking's replicates too (what rank intervals read;
    4 kB a row). The demo data's folder: its truth and its zips (valid uploads)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        upgrade(connection)
    folder = Path(tempfile.mkdtemp(prefix="mia-bench-"))
    write_demo_data(folder, ["cifar10"], seed=1)
    with committing(sessions(engine)()) as session:
        competition = import_mico(session, folder / "truth").competition
        track = session.scalars(select(Track)).one()
        scenarios = dict(session.execute(select(Scenario.name, Scenario.id)).tuples().all())
        phase_id: int = session.execute(
            text("SELECT id FROM phases WHERE name = 'Development'")
        ).scalar_one()
        ids = (competition.id, track.id, phase_id)
    engine.dispose()
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        _copy_people(connection, ids[0], participants)
        _copy_submissions(connection, ids[1], ids[2], scenarios, count, participants, replicates)
    rebuild_representatives(url)
    return folder


def _copy_people(connection: psycopg.Connection, competition_id: int, participants: int) -> None:
    password = hash_password("benchmark-password")  # one hash for all: argon2 is slow on purpose
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY users (id, email, display_name, password_hash, role, is_active, created_at,"
            " session_epoch) FROM STDIN"
        ) as copy:
            for i in range(1, participants + 1):
                copy.write_row(
                    (
                        i,
                        f"p{i}@example.org",
                        f"participant {i}",
                        password,
                        "participant",
                        True,
                        now,
                        0,
                    )
                )
        with cursor.copy(
            "COPY registrations (competition_id, user_id, status, terms_accepted_at, created_at)"
            " FROM STDIN"
        ) as copy:
            for i in range(1, participants + 1):
                copy.write_row((competition_id, i, "approved", now, now))
        cursor.execute("SELECT setval('users_id_seq', %s)", (participants,))


def _copy_submissions(
    connection: psycopg.Connection,
    track_id: int,
    phase_id: int,
    scenarios: dict[str, int],
    count: int,
    participants: int,
    replicates: bool,
) -> None:
    rng = random.Random(7)
    noise = np.random.default_rng(7)
    start = datetime.now(UTC) - timedelta(days=30)
    roc = json.dumps({"fpr": [0.0, 0.1, 1.0], "tpr": [0.0, 0.5, 1.0]})
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY submissions (id, user_id, track_id, phase_id, zip_bytes, sha256, size,"
            " description, status, server_fault, attempts, queued_at, scoring_started_at,"
            " scored_at, scoring_ms, scorer_version, pinned, created_at) FROM STDIN"
        ) as copy:
            for i in range(1, count + 1):
                at = start + timedelta(seconds=25 * i)
                copy.write_row(
                    (
                        i,
                        rng.randint(1, participants),
                        track_id,
                        phase_id,
                        b"",
                        "0" * 64,
                        0,
                        "",
                        "scored",
                        False,
                        1,
                        at,
                        at,
                        at,
                        25.0,
                        "bench",
                        False,
                        at,
                    )
                )
        for split in ("dev", "final"):
            with cursor.copy(  # with their intervals, as once the workers have caught up
                "COPY rankings (submission_id, split, ranking_score, ci_low, ci_high, replicates)"
                " FROM STDIN"
            ) as copy:
                for i in range(1, count + 1):
                    score = rng.random()
                    spread = _replicates(noise, score) if replicates else None
                    copy.write_row(
                        (i, split, score, max(score - 0.03, 0), min(score + 0.03, 1), spread)
                    )
        with cursor.copy(
            "COPY scores (submission_id, split, scenario_id, metrics, roc, created_at) FROM STDIN"
        ) as copy:
            now = datetime.now(UTC)
            for i in range(1, count + 1):
                for split in ("dev", "final"):
                    for scenario_id in scenarios.values():
                        metrics = json.dumps({k: round(rng.random(), 4) for k in METRICS})
                        copy.write_row((i, split, scenario_id, metrics, roc, now))
        cursor.execute("SELECT setval('submissions_id_seq', %s)", (count,))
        cursor.execute("ANALYZE")


def _replicates(rng: np.random.Generator, score: float) -> bytes:
    """REPLICATES scores about `score`, as stored: float32 little-endian."""
    scores = score + 0.015 * rng.standard_normal(REPLICATES, np.float32)
    return scores.astype("<f4").tobytes()


def _fresh(url: str) -> None:
    """The ranking computed afresh, as a reader does when the cache has expired."""
    engine = make_engine(url)
    times = []
    with committing(sessions(engine)()) as session:
        competition = session.scalars(select(Competition)).one()
        track = session.scalars(select(Track)).one()
        for _ in range(7):
            began = time.perf_counter()
            rows = standings(session, competition, track, "dev")
            times.append(time.perf_counter() - began)
    engine.dispose()
    print(
        f"ranking computed afresh ({len(rows):,} rows): median "
        f"{statistics.median(times) * 1000:.1f} ms, of 7"
    )


@contextmanager
def _server(url: str) -> Iterator[str]:
    with served(url, port=8741, workers=2) as (base, _):
        yield base


def _read(url: str, name: str, readers: int, requests: int) -> None:
    """With wrk when installed (a C load generator: the readers cost the machine little),
    else Python threads; latencies in ms."""
    if shutil.which("wrk"):
        _wrk(url, name, readers)
    else:
        _threads(url, name, readers, requests)


def _wrk(url: str, name: str, readers: int) -> None:
    # Warm-up, not counted: each web process's first reader waits while it ranks the first time.
    subprocess.run(["wrk", "-t", "2", "-c", str(readers), "-d", "3s", url], capture_output=True)
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(readers), "-d", "15s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)\s*$", out, re.MULTILINE))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(
        f"{name:>5}: wrk, {readers} connections, 15 s, {rate.group(1) if rate else '?'}/s; "
        f"p50 {figures.get('50')}, p99 {figures.get('99')}"
        + (f"; {errors.group(1)} errors" if errors else "")
    )


def _threads(url: str, name: str, readers: int, requests: int) -> None:
    """`readers` threads, each `requests` GETs one after the other."""
    latencies: list[float] = []
    lock = threading.Lock()

    def reader() -> None:
        with httpx.Client(timeout=30) as client:
            client.get(url)  # a connection, and the cache, warmed
            for _ in range(requests):
                began = time.perf_counter()
                answer = client.get(url)
                spent = (time.perf_counter() - began) * 1000
                assert answer.status_code == 200, answer.status_code
                with lock:
                    latencies.append(spent)

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"{name:>5}: {len(latencies)} requests by {readers} readers, "
        f"{len(latencies) / wall:.0f}/s; p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms"
    )


if __name__ == "__main__":
    main()
