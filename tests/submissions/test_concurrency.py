"""Uploads at the same moment cannot take more than a limit allows, on either backend: eight
threads, each with its own session and connection, submit at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.auth import service as auth
from app.competitions import registrations
from app.competitions.service import import_mico
from app.core.db import committing, make_engine, sessions, upgrade
from app.core.errors import TooMany
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.submission import Submission
from app.models.user import Role, User
from app.submissions import service
from tests.fixtures.browser import PASSWORD


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_eight_uploads_at_once_store_only_what_the_daily_limit_allows(
    backend: str, new_postgres_database: Callable[[], str], demo: Path, tmp_path: Path
) -> None:
    url = new_postgres_database() if backend == "postgresql" else f"sqlite:///{tmp_path}/c.db"
    engine = make_engine(url)
    with engine.begin() as connection:
        upgrade(connection)
    factory = sessions(engine)
    with committing(factory()) as session:
        competition = import_mico(session, demo / "truth").competition
        session.execute(update(Phase).values(max_per_day=3))
        user = auth.create_user(session, "ada@example.org", PASSWORD, role=Role.PARTICIPANT)
        registrations.register(session, competition, user, accept_terms=True)
        session.flush()
        user_id = user.id
    data = (demo / "submissions" / "cifar10-weak.zip").read_bytes()
    start = threading.Barrier(8)

    def upload(_: int) -> str:
        """One request's work, as the upload route does it: submit, then commit."""
        with factory() as session:
            competition = session.scalar(select(Competition))
            assert competition is not None
            track = service.track_by_name(session, competition, "cifar10")
            user = session.get_one(User, user_id)
            start.wait()
            try:
                service.submit(
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
