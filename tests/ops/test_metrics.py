"""Prometheus metrics: requests by route template, submissions by status, the queue and
scoring times from the database; all processes of `serve --workers N` added up; a token when
METRICS_TOKEN is set; nothing of any score or label."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select

from app.core.config import Settings
from app.core.db import sessions
from app.main import create_app
from app.models.submission import Submission
from tests.fixtures.arena import Arena, seed_mico
from tests.fixtures.browser import Sent
from tests.ops.conftest import Served

PROCESS_FAMILIES = {  # prometheus_client's own, about the process: memory, CPU, Python
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_cpu_seconds",
    "process_open_fds",
    "process_max_fds",
    "python_info",
    "python_gc_objects_collected",
    "python_gc_objects_uncollectable",
    "python_gc_collections",
}
UPLOAD = "/api/v1/competitions/{slug}/tracks/{track}/submissions"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(text: str) -> Samples:
    """Every sample of a Prometheus text answer, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, route: str, status: str, method: str = "GET") -> float:
    return value(samples, "mia_http_requests_total", method=method, route=route, status=status)


def test_requests_are_counted_by_route_template_method_and_status(arena: Arena) -> None:
    browser = arena.browser
    for _ in range(2):
        assert browser.get("/competitions/mico").status_code == 200
    assert browser.get("/competitions/no-such-thing").status_code == 404
    assert browser.get("/no/route/here").status_code == 404
    browser.request("BREW", "/competitions/mico")  # a method no one uses: "other"
    samples = scrape(browser.get("/metrics").text)
    assert requests(samples, "/competitions/{slug}", "200") == 2
    assert requests(samples, "/competitions/{slug}", "404") == 1
    assert requests(samples, "unmatched", "404") == 1
    assert requests(samples, "/competitions/{slug}", "405", method="other") == 1
    latency = value(
        samples,
        "mia_http_request_duration_seconds_count",
        method="GET",
        route="/competitions/{slug}",
    )
    assert latency == 3
    # Labels are templates, never the paths themselves: their number is bounded.
    routes = {dict(labels).get("route") for _, labels in samples}
    assert not any(r and ("mico" in r or "no-such-thing" in r) for r in routes)


def test_an_upload_shows_in_the_queue_then_in_the_scoring_times(arena: Arena) -> None:
    _, headers = arena.participant("ada@example.org")
    answer = arena.upload(headers, arena.zip("cifar10-strong"), description="my secret method")
    assert answer.status_code == 202
    queued = scrape(arena.browser.get("/metrics").text)
    assert requests(queued, UPLOAD, "202", method="POST") == 1
    assert value(queued, "mia_submissions", status="queued") == 1
    assert value(queued, "mia_scoring_queue_depth", status="queued") == 1
    assert value(queued, "mia_scoring_queue_oldest_seconds") >= 0
    assert value(queued, "mia_scoring_duration_seconds_count") == 0
    assert value(queued, "mia_database_up") == 1

    assert arena.score_sent() == ["scored"]
    text = arena.browser.get("/metrics").text
    scored = scrape(text)
    assert value(scored, "mia_submissions", status="scored") == 1
    assert value(scored, "mia_submissions", status="queued") == 0
    assert value(scored, "mia_scoring_queue_depth", status="queued") == 0
    scoring_ms = arena.session.scalar(select(Submission.scoring_ms))
    assert scoring_ms is not None
    assert value(scored, "mia_scoring_duration_seconds_count") == 1
    assert value(scored, "mia_scoring_duration_seconds_sum") == pytest.approx(scoring_ms / 1000)
    assert value(scored, "mia_scoring_duration_seconds_bucket", le="+Inf") == 1
    # Counts and times only: no family or label that could carry a score, a label or a name.
    families = {family.name for family in text_string_to_metric_families(text)}
    assert families - PROCESS_FAMILIES == {
        "mia_http_requests",
        "mia_http_request_duration_seconds",
        "mia_database_up",
        "mia_submissions",
        "mia_scoring_queue_depth",
        "mia_scoring_queue_oldest_seconds",
        "mia_scoring_duration_seconds",
        "mia_leaderboard_ranking_seconds",
    }
    ours = [labels for name, labels in scored if name.startswith("mia_")]
    assert {name for labels in ours for name, _ in labels} == {"method", "route", "status", "le"}
    for secret in ("my secret method", "mico", "cifar10_", "ada@example.org"):
        assert secret not in text


def test_each_leaderboard_made_is_counted_with_its_time(arena: Arena) -> None:
    """The ranking work the web process does: one make per leaderboard and cache period (the
    arena's cache is off, so a server of its own with one)."""
    _, headers = arena.participant("ada@example.org")
    arena.upload(headers, arena.zip("cifar10-strong"))
    assert arena.score_sent() == ["scored"]
    app = create_app(Settings(leaderboard_cache_seconds=60), arena.factory, Sent())
    with TestClient(app, base_url="https://testserver") as browser:
        before = scrape(browser.get("/metrics").text)
        assert value(before, "mia_leaderboard_ranking_seconds_count") == 0
        for _ in range(3):  # made once, then served from the cache
            board = browser.get("/api/v1/competitions/mico/tracks/cifar10/leaderboard")
            assert [e["participant"] for e in board.json()["entries"]] == ["ada"]
        after = scrape(browser.get("/metrics").text)
    assert value(after, "mia_leaderboard_ranking_seconds_count") == 1
    assert 0 < value(after, "mia_leaderboard_ranking_seconds_sum") < 60


@pytest.fixture
def guarded(sqlite: Engine) -> Iterator[TestClient]:
    settings = Settings(metrics_token="scrape-token-0123456789")
    app = create_app(settings, sessions(sqlite), Sent())
    with TestClient(app, base_url="https://testserver") as browser:
        yield browser


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Bearer scrape-token-012345678", "Basic scrape-token-0123456789", ""],
)
def test_with_metrics_token_set_a_scrape_without_it_is_refused(
    guarded: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = guarded.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "mia_" not in answer.text


def test_with_metrics_token_set_the_right_token_scrapes(guarded: TestClient) -> None:
    answer = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "mia_submissions" in answer.text


def test_several_server_processes_are_added_up(served: Served) -> None:
    """`serve --workers 2`: each process counts what it serves, any one answers the scrape
    with the total (prometheus_client's multiprocess mode). Which process takes a connection
    is the kernel's choice, so a third process of the app's own code counts 7 more: every
    scrape must include them, whichever server process answers it."""
    before = requests(scrape(served.get("/metrics")[1]), "/healthz", "200")
    with ThreadPoolExecutor(4) as pool:  # at once, on new connections
        statuses = list(pool.map(lambda _: served.get("/healthz")[0], range(40)))
    assert statuses == [200] * 40
    count_elsewhere = (
        "from app.ops.metrics import Metrics\n"
        "m = Metrics(None, 'unused')\n"
        "for _ in range(7): m.observe('GET', '/healthz', 200, 0.001)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(served.metrics_dir)}
    subprocess.run([sys.executable, "-c", count_elsewhere], env=env, check=True)
    for _ in range(6):
        after = scrape(served.get("/metrics")[1])
        assert requests(after, "/healthz", "200") - before == 40 + 7
    assert value(after, "mia_database_up") == 1


def test_cached_leaderboard_answers_are_counted_by_template_with_ids_of_their_own(
    sqlite: Engine, demo: Path
) -> None:
    """Anonymous leaderboards are served from the micro-cache without going through a route:
    still counted under the route's template, each with its own request id."""
    seed_mico(sessions(sqlite), demo)
    app = create_app(Settings(leaderboard_cache_seconds=30), sessions(sqlite), Sent())
    path = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"
    with TestClient(app, base_url="https://testserver") as browser:
        answers = [browser.get(path) for _ in range(3)]
        samples = scrape(browser.get("/metrics").text)
    assert [a.status_code for a in answers] == [200] * 3
    ids = [a.headers.get_list("x-request-id") for a in answers]
    assert all(len(i) == 1 for i in ids) and len({i[0] for i in ids}) == 3
    assert requests(samples, "/api/v1/competitions/{slug}/tracks/{track}/leaderboard", "200") == 3
