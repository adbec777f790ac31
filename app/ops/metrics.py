"""Prometheus metrics: requests counted by each web process, submission figures read from the
database at scrape time.

With several web processes (`mia-arena serve --workers N`) each counts its own requests in
files under PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode) and a scrape,
answered by any of them, adds them up. Scoring times come from the submissions' `scoring_ms`
rather than from the workers' memory: the workers are other processes, often on other machines,
with no port to scrape, and a web process restarting would lose what it had observed; the
database has every submission's time whichever worker scored it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.ops.service import submission_figures
from app.submissions.pipeline import ACTIVE

log = logging.getLogger(__name__)
# Methods a client may send are unbounded: the others are counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One web app's metrics: its request counter and latency histogram, and what a scrape
    reads from the database."""

    def __init__(self, factory: Callable[[], Session], multiprocess_dir: str | None) -> None:
        # No `_created` twin for each series (as in multiprocess mode): half the series.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._multiprocess_dir = multiprocess_dir
        self._figures = SubmissionCollector(factory)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mia_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mia_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rankings = Histogram(
            "mia_leaderboard_ranking_seconds",
            "Time a web process took to make a leaderboard again (ranking, rank intervals, "
            "JSON, table and charts), in the background.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if multiprocess_dir is None:  # one process: its own figures are the whole story
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            self.registry.register(self._figures)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        """The text a Prometheus scrape reads: every process's counts, the database's figures."""
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        registry.register(self._figures)
        return generate_latest(registry)


class SubmissionCollector(Collector):
    """Submissions by status, the scoring queue and scoring times, from the database."""

    def __init__(self, factory: Callable[[], Session]) -> None:
        self._factory = factory

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mia_database_up", "1 when the database answered this scrape.")
        try:
            with self._factory() as session:
                figures = submission_figures(session)
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_status = GaugeMetricFamily(
            "mia_submissions", "Submissions stored, by status.", labels=["status"]
        )
        for status, count in figures.by_status.items():
            by_status.add_metric([status.value], count)
        yield by_status
        queue = GaugeMetricFamily(
            "mia_scoring_queue_depth",
            "Submissions waiting to be scored or being scored, by status.",
            labels=["status"],
        )
        for status in ACTIVE:
            queue.add_metric([status.value], figures.by_status[status])
        yield queue
        yield GaugeMetricFamily(
            "mia_scoring_queue_oldest_seconds",
            "How long the oldest queued submission has waited (0 when none waits).",
            value=figures.oldest_queued_seconds,
        )
        yield HistogramMetricFamily(
            "mia_scoring_duration_seconds",
            "Time to score a submission (every split its phase scores), of scored submissions.",
            buckets=[
                *((f"{b:g}", n) for b, n in figures.scoring_buckets),
                ("+Inf", figures.scoring_count),
            ],
            sum_value=figures.scoring_seconds,
        )
