"""A real `mia-arena serve --workers 2` for the tests that need the server as deployed."""

from __future__ import annotations

import os
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.db import make_engine, upgrade
from tests.fixtures.services import MIA_ARENA, free_port, wait_for


@dataclass
class Served:
    """A running web server: its address, its metrics folder, its log."""

    url: str
    metrics_dir: Path
    log: Path

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    database = f"sqlite:///{folder / 'mia.sqlite3'}"
    engine = make_engine(database)
    with engine.begin() as connection:
        upgrade(connection)
    engine.dispose()
    port, metrics, log = free_port(), folder / "metrics", folder / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "LOG_FORMAT": "json",
    }
    env.pop("REDIS_URL", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [MIA_ARENA, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Served(f"http://127.0.0.1:{port}", metrics, log)
    try:
        wait_for(lambda: _answers(server), 60, "mia-arena serve to answer", every=0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(server: Served) -> bool:
    try:
        return server.get("/healthz")[0] == 200
    except OSError:
        return False
