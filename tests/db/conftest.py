"""Real databases for the tests: a throwaway PostgreSQL database per run, SQLite files per test.

PostgreSQL tests skip when the server cannot be reached, except with MIA_REQUIRE_SERVICES=1
(as .ci/run sets), where they fail loudly instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.core.db import make_engine, upgrade

ADMIN_URL = os.environ.get(
    "MIA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def new_postgres_database() -> Iterator[Callable[[], str]]:
    """Make empty PostgreSQL databases on demand; all are dropped at the end of the run."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        admin.connect().close()
    except OperationalError as exc:
        if os.environ.get("MIA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL is required (MIA_REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}")
    made: list[str] = []

    def make() -> str:
        name = f"mia_test_{os.getpid()}_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    yield make
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres(new_postgres_database: Callable[[], str]) -> Iterator[Engine]:
    """An engine on a PostgreSQL database migrated to head once for the run."""
    engine = make_engine(new_postgres_database())
    with engine.begin() as connection:
        upgrade(connection)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh SQLite file migrated to head."""
    engine = make_engine(f"sqlite:///{tmp_path / 'mia.sqlite3'}")
    with engine.begin() as connection:
        upgrade(connection)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session on each backend whose work is rolled back after the test, commits included."""
    engine: Engine = request.getfixturevalue(
        "postgres" if request.param == "postgresql" else "sqlite"
    )
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
