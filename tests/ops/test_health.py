"""Liveness and readiness: /healthz never touches a dependency; /readyz names what is down,
quickly, and is 200 only when the database and the broker answer."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import make_engine, sessions
from app.main import create_app
from tests.fixtures.browser import Sent
from tests.fixtures.services import RedisServer, free_port

DEAD_DATABASE = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"


def _browser(factory: Callable[[], Session], redis_url: str | None) -> TestClient:
    app = create_app(Settings(redis_url=redis_url), factory, Sent())
    return TestClient(app, base_url="https://testserver")


def test_healthz_answers_while_the_database_is_down() -> None:
    """A process that answers is alive: a dead database must not get it restarted."""
    with _browser(sessions(make_engine(DEAD_DATABASE)), None) as browser:
        answer = browser.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_ready_with_the_real_database_and_broker(
    postgres: Engine, redis_server: RedisServer
) -> None:
    with _browser(sessions(postgres), redis_server.url) as browser:
        answer = browser.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_checks_no_broker_in_embedded_mode(sqlite: Engine) -> None:
    """Without REDIS_URL the server scores in-process: there is no broker to wait for."""
    with _browser(sessions(sqlite), None) as browser:
        answer = browser.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": "ok"}


def test_readyz_names_a_database_that_cannot_be_reached(redis_server: RedisServer) -> None:
    with _browser(sessions(make_engine(DEAD_DATABASE)), redis_server.url) as browser:
        started = time.monotonic()
        answer = browser.get("/readyz")
        elapsed = time.monotonic() - started
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["database"].startswith("unreachable")
    assert elapsed < 3
    # Nothing of the connection string (host, port, user) is shown to whoever asks.
    assert "127.0.0.1" not in answer.text and "postgres@" not in answer.text


def test_readyz_names_a_broker_on_a_closed_port(sqlite: Engine) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with _browser(sessions(sqlite), closed) as browser:
        started = time.monotonic()
        answer = browser.get("/readyz")
        elapsed = time.monotonic() - started
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"] == "ok"
    assert answer.json()["checks"]["broker"].startswith("unreachable")
    assert elapsed < 3


def test_readyz_gives_up_on_a_broker_that_never_answers(sqlite: Engine) -> None:
    """A port that accepts connections but never speaks (a hung Redis, a firewall that
    swallows packets): the answer still comes within the check's deadline."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        with _browser(sessions(sqlite), url) as browser:
            started = time.monotonic()
            answer = browser.get("/readyz")
            elapsed = time.monotonic() - started
    assert answer.status_code == 503
    assert answer.json()["checks"]["broker"] in (
        "no answer within 2 s",
        "unreachable (TimeoutError)",
    )
    assert elapsed < 3.5


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_operations_endpoints_are_documented(sqlite: Engine, path: str) -> None:
    with _browser(sessions(sqlite), None) as browser:
        schema = browser.get("/openapi.json").json()
    operation = schema["paths"][path]["get"]
    assert operation["description"] and operation["summary"]
    assert "/metrics" not in schema["paths"]
