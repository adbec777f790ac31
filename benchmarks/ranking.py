"""What a change to the standings costs, and what ranking costs, at two table sizes: 10,000 and
100,000 scored submissions of the same 2,000 participants on one track.

For each size, on a throwaway PostgreSQL database filled as benchmarks/leaderboard.py fills
it (replicates included): the time to work out one owner's representatives, and that of a
new score, a pin and a disqualification with it (what the worker or the request adds to its
transaction), the ranking
(`standings`), the leaderboard's signature, and the whole board as a web process makes it
(standings, rank intervals, ROC overlays, JSON). Medians of 7; flat means the same at both.

    .venv/bin/python benchmarks/ranking.py [--sizes 10000 100000] [--participants 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from leaderboard import fill  # benchmarks/leaderboard.py
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from throwaway import throwaway_database  # benchmarks/throwaway.py

from app.admin.submissions import service as admin_submissions
from app.core.db import make_engine, sessions
from app.leaderboard import boards, service
from app.models import representative
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import User

TIMES = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--participants", type=int, default=2_000)
    args = parser.parse_args()
    results = {size: _measure(size, args.participants) for size in args.sizes}
    names = list(next(iter(results.values())))
    print(f"\nmedian ms of {TIMES}, {args.participants:,} participants")
    print(f"{'':<34}" + "".join(f"{size:>12,}" for size in args.sizes))
    for name in names:
        print(f"{name:<34}" + "".join(f"{results[s][name]:>12.1f}" for s in args.sizes))


def _measure(size: int, participants: int) -> dict[str, float]:
    with throwaway_database() as url:
        fill(url, size, participants, replicates=True)
        engine = make_engine(url)
        factory = sessions(engine)
        figures: dict[str, float] = {}
        with factory() as session:
            competition = session.scalars(select(Competition)).one()
            track = session.scalars(select(Track)).one()
            organizer = session.get_one(User, 1)  # a user to record the change in the audit log
            busiest = session.scalars(
                select(Submission.user_id)
                .group_by(Submission.user_id)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            own = list(
                session.scalars(
                    select(Submission).where(Submission.user_id == busiest).order_by(Submission.id)
                )
            )
            session.commit()

            def change(name: str, step: Callable[[Session, Submission], None]) -> None:
                """The time of `step` on the busiest participant's latest submission, its
                representatives worked out again, and the commit."""
                times = []
                for i in range(TIMES):
                    with factory() as each:
                        latest = each.get_one(Submission, own[-1].id)
                        began = time.perf_counter()
                        step(each, latest if i % 2 == 0 else each.get_one(Submission, own[0].id))
                        each.commit()
                        times.append(time.perf_counter() - began)
                figures[name] = statistics.median(times) * 1000

            def new_score(each: Session, submission: Submission) -> None:
                submission.status = SubmissionStatus.QUEUED
                each.flush()  # off the board, then scored again: what the worker's commit does
                submission.status = SubmissionStatus.SCORED

            def pin(each: Session, submission: Submission) -> None:
                submission.pinned = not submission.pinned

            def disqualify(each: Session, submission: Submission) -> None:
                reason = None if submission.disqualified else "a benchmark's reason"
                held = each.get_one(Competition, competition.id)
                admin_submissions.disqualify(
                    each, held, each.get_one(User, organizer.id), submission, reason
                )

            print(f"{size:,} submissions: the busiest participant has {len(own)}")
            figures["one owner's rows worked out"] = _median(
                lambda: representative.refresh(session, track.id, [busiest])
            )
            session.commit()
            change("a new score", new_score)
            change("a pin", pin)
            change("a disqualification", disqualify)
            phase = session.scalars(select(Phase).where(Phase.name == "Development")).one()
            phase.allow_pinning = True
            session.commit()
            figures["ranking (standings)"] = _median(
                lambda: service.standings(session, competition, track, "dev")
            )
            entries = service.standings(session, competition, track, "dev")
            figures["rank intervals (2,000 x 1,000)"] = _median(
                lambda: service.with_rank_intervals(session, "dev", entries)
            )
            figures["signature"] = _median(
                lambda: service.signature(session, competition, track, "dev")
            )
            cache = service.StandingsCache(0)
            figures["the whole board, as served"] = _median(
                lambda: boards.board_of(factory, cache, competition, track, "dev", True)
            )
        engine.dispose()
        print(f"{size:,} submissions: done")
        return figures


def _median(work: Callable[[], object]) -> float:
    times = []
    for _ in range(TIMES):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    main()
