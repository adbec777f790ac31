"""Every answer carries an X-Request-ID (the client's when sane, a new one otherwise), and
every log line of that request carries the same id: JSON lines in production, text otherwise."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.config import Settings
from app.core.db import sessions
from app.core.logs import logging_config
from app.main import create_app
from tests.fixtures.browser import Sent

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app(sqlite: Engine) -> FastAPI:
    application = create_app(Settings(), sessions(sqlite), Sent())

    @application.get("/api/v1/boom")
    @application.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: /srv/mia-arena/app/x.py")

    @application.get("/noisy")
    def noisy() -> dict[str, str]:
        logging.getLogger("app.something").warning("a warning while serving")
        return {}

    return application


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def log_lines(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """The process's logging as `mia-arena serve` sets it up (JSON, or text with the
    parameter "text"), into a buffer; put back as it was afterwards."""
    fmt = getattr(request, "param", "json")
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    loggers = {n: (lg.handlers[:], lg.propagate, lg.filters[:]) for n, lg in _uvicorn_loggers()}
    logging.config.dictConfig(logging_config(Settings(log_format=fmt), stream=stream))
    yield stream
    root.handlers, _ = saved[0], root.setLevel(saved[1])
    for name, (handlers, propagate, filters) in loggers.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate, logger.filters = handlers, propagate, filters


def _uvicorn_loggers() -> Iterator[tuple[str, logging.Logger]]:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        yield name, logging.getLogger(name)


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_answer_has_a_new_request_id(browser: TestClient) -> None:
    ids = {browser.get(path).headers["x-request-id"] for path in ("/healthz", "/login", "/nope")}
    assert len(ids) == 3 and all(GENERATED.fullmatch(i) for i in ids)


@pytest.mark.parametrize(
    "sane", ["3f2a9c1e-7b4d-4c1e-9a2b-0d6e5f4a3b2c", "Root=1-67891233-abcdef012345678912345678"]
)
def test_a_sane_request_id_from_the_client_or_proxy_is_kept(browser: TestClient, sane: str) -> None:
    assert browser.get("/healthz", headers={"X-Request-ID": sane}).headers["x-request-id"] == sane


@pytest.mark.parametrize(
    "hostile",
    ["x" * 1024, "<script>alert(1)</script>", "a b", "ü-unicode".encode(), "-starts-with-dash", ""],
)
def test_a_hostile_request_id_is_replaced(browser: TestClient, hostile: str | bytes) -> None:
    answer = browser.get("/healthz", headers={"X-Request-ID": hostile})
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


def test_a_request_id_with_a_newline_is_replaced_and_forges_no_log_line(
    app: FastAPI, log_lines: io.StringIO
) -> None:
    """Sent raw (an HTTP client refuses to send it): no header splitting, no forged line."""
    forged = b'abc\n{"level": "ERROR", "message": "forged"}'
    status, headers = asyncio.run(_raw_get(app, "/healthz", [(b"x-request-id", forged)]))
    assert status == 200 and GENERATED.fullmatch(headers["x-request-id"])
    assert all(line["message"] != "forged" for line in _json_lines(log_lines))


async def _raw_get(
    app: FastAPI, path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, str]]:
    """One GET straight through the ASGI interface: the status and the answer's headers."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 443),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def test_each_log_line_of_a_request_carries_its_id(
    browser: TestClient, log_lines: io.StringIO
) -> None:
    browser.get("/noisy", headers={"X-Request-ID": "req-one"})
    browser.get("/healthz", headers={"X-Request-ID": "req-two"})
    lines = _json_lines(log_lines)
    by_id = {i: [line for line in lines if line["request_id"] == i] for i in ("req-one", "req-two")}
    warning, served = (line["message"] for line in by_id["req-one"])
    assert warning == "a warning while serving" and served.startswith("GET /noisy 200 ")
    access = by_id["req-two"][0]
    assert access["logger"] == "app.access" and access["level"] == "INFO"
    assert access["route"] == "/healthz" and access["status"] == 200
    assert isinstance(access["duration_ms"], float)


def test_a_server_error_is_logged_with_its_id_and_the_500_names_it(
    browser: TestClient, log_lines: io.StringIO
) -> None:
    page = browser.get("/boom", headers={"X-Request-ID": "page-err"})
    api = browser.get("/api/v1/boom", headers={"X-Request-ID": "api-err"})
    assert page.status_code == api.status_code == 500
    assert page.headers["x-request-id"] == "page-err" and api.headers["x-request-id"] == "api-err"
    assert "quote request id page-err" in page.text and "<html" in page.text.lower()
    assert "quote request id api-err" in api.json()["detail"]
    # The fault itself stays in the log.
    assert "secret internals" not in page.text + api.text
    failed = [line for line in _json_lines(log_lines) if line["level"] == "ERROR"]
    assert [line["request_id"] for line in failed] == ["page-err", "api-err"]
    assert all("RuntimeError: secret internals" in line["exception"] for line in failed)


@pytest.mark.parametrize("log_lines", ["text"], indirect=True)
def test_text_logs_carry_the_id_and_escape_a_hostile_path(
    browser: TestClient, log_lines: io.StringIO
) -> None:
    browser.get("/nope%0AFAKE%20line", headers={"X-Request-ID": "txt-1"})
    lines = [line for line in log_lines.getvalue().splitlines() if "[txt-1]" in line]
    assert len(lines) == 1  # the path's newline is escaped: no second line
    assert "INFO    app.access [txt-1]" in lines[0] and "GET /nope\\nFAKE line 404" in lines[0]


def test_json_is_the_default_in_production_and_text_in_development() -> None:
    secret = "s" * 40
    assert Settings(environment="production", secret_key=secret).json_logs
    assert not Settings(environment="development").json_logs
    assert not Settings(environment="production", secret_key=secret, log_format="text").json_logs
    assert Settings(log_format="json").json_logs
