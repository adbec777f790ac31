"""Memory of the representatives download: 200 participants, each represented by a 0.7 MB zip
(140 MB in all), downloaded through `mia-arena serve` by an organizer's token.

Fills a throwaway PostgreSQL database, starts the web server (one process), downloads
`representatives.zip` twice (dev, final) and prints the server's peak resident memory before and
after (VmHWM from /proc), the archive's size and the time taken.

    .venv/bin/python benchmarks/downloads.py [--participants 200] [--kb 700]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import tempfile
import time
import zipfile
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import psycopg
from sqlalchemy import select, text
from throwaway import rebuild_representatives, served, throwaway_database  # benchmarks/throwaway.py

from app.auth import service as auth
from app.auth.passwords import hash_password
from app.competitions.service import import_mico
from app.core.db import committing, make_engine, sessions, upgrade
from app.models.track import Track
from app.models.user import Role
from app.scoring.demo import write_demo_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--kb", type=int, default=700, help="size of each stored zip")
    args = parser.parse_args()
    with throwaway_database() as url:
        token = _fill(url, args.participants, args.kb * 1024)
        print(f"filled {args.participants} participants x {args.kb} KB")
        with _server(url) as (base, pid):
            headers = {"Authorization": f"Bearer {token}"}
            httpx.get(base + "/api/v1/admin/competitions/mico/phases", headers=headers)
            before = _memory(pid)
            print(f"server before: RSS {before['VmRSS']:.0f} MB, peak {before['VmHWM']:.0f} MB")
            for split in ("dev", "final"):
                _download(base, headers, split, pid, args.participants)


def _fill(url: str, participants: int, size: int) -> str:
    """MICO's cifar10 track, participants each with one scored submission of `size` random
    bytes (COPY), and an organizer; the organizer's API token."""
    engine = make_engine(url)
    with engine.begin() as connection:
        upgrade(connection)
    folder = Path(tempfile.mkdtemp(prefix="mia-bench-"))
    write_demo_data(folder, ["cifar10"], seed=1)
    with committing(sessions(engine)()) as session:
        competition = import_mico(session, folder / "truth").competition
        track_id = session.scalars(select(Track.id).where(Track.name == "cifar10")).one()
        phase_id: int = session.execute(
            text("SELECT id FROM phases WHERE name = 'Development'")
        ).scalar_one()
        organizer = auth.create_user(session, "org@example.org", "x" * 20, role=Role.ORGANIZER)
        token = auth.create_token(session, organizer)[1]
        first = organizer.id + 1
    engine.dispose()
    rng = random.Random(3)
    now = datetime.now(UTC)
    with psycopg.connect(url.replace("+psycopg", "")) as raw, raw.cursor() as cur:
        password = hash_password("benchmark-password")
        with cur.copy(
            "COPY users (id, email, display_name, password_hash, role, is_active, created_at,"
            " session_epoch) FROM STDIN"
        ) as copy:
            for i in range(first, first + participants):
                row = (i, f"p{i}@example.org", f"participant {i}", password, "participant")
                copy.write_row((*row, True, now, 0))
        with cur.copy(
            "COPY registrations (competition_id, user_id, status, terms_accepted_at, created_at)"
            " FROM STDIN"
        ) as copy:
            for i in range(first, first + participants):
                copy.write_row((competition.id, i, "approved", now, now))
        cur.execute("SELECT setval('users_id_seq', %s)", (first + participants,))
        with cur.copy(
            "COPY submissions (id, user_id, track_id, phase_id, zip_bytes, sha256, size,"
            " description, status, server_fault, attempts, queued_at, scored_at, pinned,"
            " created_at) FROM STDIN"
        ) as copy:
            for n, i in enumerate(range(first, first + participants), start=1):
                data = _zip_of(rng.randbytes(size))
                at = now - timedelta(minutes=n)
                copy.write_row(
                    (n, i, track_id, phase_id, data, hashlib.sha256(data).hexdigest(), len(data))
                    + ("", "scored", False, 1, at, at, False, at)
                )
        with cur.copy("COPY rankings (submission_id, split, ranking_score) FROM STDIN") as copy:
            for split in ("dev", "final"):
                for n in range(1, participants + 1):
                    copy.write_row((n, split, rng.random()))
        cur.execute("SELECT setval('submissions_id_seq', %s)", (participants,))
        cur.execute("ANALYZE")
    rebuild_representatives(url)
    return token


def _zip_of(data: bytes) -> bytes:
    """Random bytes in a zip: what a stored submission is, give or take its content."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("cifar10/noise.bin", data)
    return out.getvalue()


def _download(base: str, headers: dict[str, str], split: str, pid: int, participants: int) -> None:
    path = f"/api/v1/admin/competitions/mico/tracks/cifar10/representatives.zip?split={split}"
    began = time.perf_counter()
    first_byte = None
    received = 0
    with httpx.stream("GET", base + path, headers=headers, timeout=120) as answer:
        assert answer.status_code == 200, answer.status_code
        for chunk in answer.iter_bytes():
            first_byte = first_byte or time.perf_counter() - began
            received += len(chunk)
    spent = time.perf_counter() - began
    after = _memory(pid)
    print(
        f"{split}: {participants} entries, {received / 1e6:.0f} MB in {spent:.1f} s "
        f"({received / 1e6 / spent:.0f} MB/s, first byte after {(first_byte or 0) * 1000:.0f} ms); "
        f"server RSS {after['VmRSS']:.0f} MB, peak {after['VmHWM']:.0f} MB"
    )


def _memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0]) / 1024
    return figures


def _server(url: str) -> AbstractContextManager[tuple[str, int]]:
    """`mia-arena serve` in one process (uvicorn runs the app in it); its address and pid."""
    return served(url, port=8742, workers=1)


if __name__ == "__main__":
    main()
