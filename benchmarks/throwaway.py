"""A throwaway PostgreSQL database for a benchmark run, on the local server, and a
`mia-arena serve` on it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import create_engine, select, text

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MIA_ARENA = str(Path(sys.executable).with_name("mia-arena"))


@contextmanager
def throwaway_database() -> Iterator[str]:
    """The URL of a new empty database, dropped at the end whatever happens."""
    name = f"mia_bench_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def served(url: str, port: int, workers: int) -> Iterator[tuple[str, int]]:
    """`mia-arena serve` on the database at `url`, scoring in its own threads (no Redis), once
    it answers: its address and the pid of its main process."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)}
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [MIA_ARENA, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(base + "/").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def rebuild_representatives(url: str) -> None:
    """Work out the leaderboards' representatives of every track after a COPY (which goes
    around the ORM that keeps them current)."""
    from app.core.db import committing, make_engine, sessions
    from app.models import representative
    from app.models.track import Track

    engine = make_engine(url)
    with committing(sessions(engine)()) as session:
        for track_id in session.scalars(select(Track.id)):
            representative.rebuild(session, track_id)
    engine.dispose()
