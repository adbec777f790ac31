"""What the operations endpoints read: readiness checks with a deadline, and the submission
figures /metrics reports (counts and times only: never a score or a label)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial

import redis
from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.submission import Submission, SubmissionStatus

log = logging.getLogger(__name__)
CHECK_SECONDS = 2.0
OK = "ok"


@cache
def _checks_pool() -> ThreadPoolExecutor:
    """Threads of their own for the checks: one hanging on a dead host never takes a thread
    that requests need (a check past its deadline is answered as such, and left to end)."""
    return ThreadPoolExecutor(4, thread_name_prefix="mia-readyz")


async def readiness(
    factory: Callable[[], Session], redis_url: str | None, timeout: float = CHECK_SECONDS
) -> dict[str, str]:
    """Each dependency's state, `ok` or what is wrong, checked at once within `timeout`:
    the database always, the broker when there is one (REDIS_URL)."""
    checks: dict[str, Callable[[], object]] = {"database": partial(_database, factory)}
    if redis_url:
        checks["broker"] = partial(_broker, redis_url, timeout)
    results = await asyncio.gather(*(_bounded(n, c, timeout) for n, c in checks.items()))
    return dict(zip(checks, results, strict=True))


async def _bounded(name: str, check: Callable[[], object], timeout: float) -> str:
    """`ok`, or a short reason: no host name, address or password is shown to the caller."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(_checks_pool(), check), timeout)
    except TimeoutError:
        log.warning("readiness: %s did not answer within %g s", name, timeout)
        return f"no answer within {timeout:g} s"
    except Exception as exc:  # whatever the driver raises, the answer is "down"
        log.warning("readiness: %s is unreachable: %s", name, exc)
        return f"unreachable ({type(exc).__name__})"
    return OK


def _database(factory: Callable[[], Session]) -> None:
    with factory() as session:
        session.execute(text("SELECT 1"))


def _broker(url: str, timeout: float) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


# Scoring times, in seconds, as the histogram's upper bounds (MICO's take about 0.03 s).
SCORING_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class SubmissionFigures:
    """Submissions by status, the oldest wait, and scoring times as histogram buckets."""

    by_status: dict[SubmissionStatus, int]
    oldest_queued_seconds: float
    scoring_buckets: list[tuple[float, int]]  # (upper bound in seconds, cumulative count)
    scoring_count: int
    scoring_seconds: float


def submission_figures(session: Session) -> SubmissionFigures:
    """Three aggregate queries (status is indexed; the histogram is one pass over scored
    rows), whichever process, web or worker, did the scoring."""
    grouped = select(Submission.status, func.count()).group_by(Submission.status)
    counts: dict[SubmissionStatus, int] = dict(session.execute(grouped).tuples().all())
    oldest: datetime | None = session.scalar(
        select(func.min(Submission.queued_at)).where(Submission.status == SubmissionStatus.QUEUED)
    )
    scored = Submission.scoring_ms.is_not(None)
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Submission.scoring_ms), 0.0),
            *(
                func.sum(case((Submission.scoring_ms <= b * 1000, 1), else_=0))
                for b in SCORING_BUCKETS
            ),
        ).where(Submission.status == SubmissionStatus.SCORED, scored)
    ).one()
    count, total_ms, *cumulative = row
    return SubmissionFigures(
        by_status={s: counts.get(s, 0) for s in SubmissionStatus},
        oldest_queued_seconds=max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0,
        scoring_buckets=[
            (b, int(n or 0)) for b, n in zip(SCORING_BUCKETS, cumulative, strict=True)
        ],
        scoring_count=int(count),
        scoring_seconds=float(total_ms) / 1000,
    )
