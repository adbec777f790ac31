"""Uploads at the same moment cannot take more than a limit allows, on either backend: eight
threads, each with its own session and connection, submit at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.competitions import registrations
from app.core.db import committing, sessions
from app.core.errors import TooMany
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.submission import Submission
from app.models.user import User
from app.submissions import service
from tests.fixtures.arena import seed_mico
from tests.fixtures.database import migrated


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_eight_uploads_at_once_store_only_what_the_daily_limit_allows(
    backend: str, new_postgres_database: Callable[[], str], demo: Path, tmp_path: Path
) -> None:
    url = new_postgres_database() if backend == "postgresql" else f"sqlite:///{tmp_path}/c.db"
    engine = migrated(url)
    factory = sessions(engine)
    user_id, _ = seed_mico(factory, demo)
    with committing(factory()) as session:
        session.execute(update(Phase).values(max_per_day=3))
    data = (demo / "submissions" / "cifar10-weak.zip").read_bytes()
    start = threading.Barrier(8)

    def upload(_: int) -> str:
        """One request's work, as the upload route does it: submit, then commit."""
        with factory() as session:
            competition = session.scalar(select(Competition))
            assert competition is not None
            track = registrations.track_by_name(session, competition, "cifar10")
            user = session.get_one(User, user_id)
            start.wait()
            try:
                service.accept(
                    session,
                    competition,
                    track,
                    user,
                    data,
                    filename="p.zip",
                    description="",
                    now=utcnow(),
                )
                session.commit()
            except TooMany:
                return "429"
            return "202"

    with ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(upload, range(8)))
    with committing(factory()) as session:
        stored = session.scalar(select(func.count()).select_from(Submission))
    engine.dispose()
    assert answers == ["202"] * 3 + ["429"] * 5 and stored == 3
