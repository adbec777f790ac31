"""The engine and sessions, built from the settings when first asked for, never at import."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from pathlib import Path
from typing import Annotated, TypeVar

import orjson
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from app.core.config import get_settings
from app.models import registry  # noqa: F401  (every model mapped before a session runs)

_ROOT = Path(__file__).resolve().parents[2]


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys enforced, as PostgreSQL has them."""
    # hide_parameters: a failed statement's error never prints the values (ground truth!).
    engine = create_engine(
        url,
        pool_pre_ping=True,
        # As many connections as the threads that may ask for one (anyio's 40), so that
        # requests waiting for a thread never hold up requests waiting for a connection.
        pool_size=10,
        max_overflow=30,
        hide_parameters=True,
        # Scores' metrics and ROC curves are JSON: orjson writes and reads them ~10x faster.
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _json_text(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@cache
def engine() -> Engine:
    """The process's engine, on DATABASE_URL."""
    return make_engine(get_settings().database_url)


@contextmanager
def committing(session: Session) -> Iterator[Session]:
    """Commit the session when the block succeeds, roll back when it raises, then close it."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def sessions(bind: Engine | Connection | None = None) -> sessionmaker[Session]:
    """The session factory on `bind` (DATABASE_URL's engine by default)."""
    return sessionmaker(bind=bind or engine(), expire_on_commit=False)


def session_scope(bind: Engine | Connection | None = None) -> AbstractContextManager[Session]:
    """A session on `bind` (DATABASE_URL's engine by default) that commits on success."""
    return committing(sessions(bind)())


SessionFactory = Callable[[], Session]


def read_bytes(
    session: Session,
    column: InstrumentedAttribute[bytes] | InstrumentedAttribute[bytes | None],
    row_id: int,
) -> bytes:
    """A bytea column of one row (by its id), empty when there is no such row. On PostgreSQL
    in binary form: in text form the server hex-encodes the bytea, and reading a 690 KB zip
    takes 13 ms instead of 1.2 ms."""
    connection = session.connection()
    table = column.class_.__table__.name
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
            sql = f"SELECT {column.key} FROM {table} WHERE id = %s"  # names from the model
            cursor.execute(sql, (row_id,))
            row = cursor.fetchone()
        return bytes(row[0]) if row else b""
    key = column.class_.id
    return session.scalar(select(column).where(key == row_id)) or b""


MAX_ID = 2**31 - 1  # ids are PostgreSQL integers: a larger one is simply not there

M = TypeVar("M")


def row_by_id(session: Session, model: type[M], row_id: int) -> M | None:
    """The row of `model` with this id, or None, also for an id no row can have (asking the
    database for 2**31 would be an error, not an absence)."""
    return session.get(model, row_id) if 1 <= row_id <= MAX_ID else None


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration from the checkout's alembic.ini, optionally on a connection."""
    for folder in (_ROOT, Path.cwd()):
        if (folder / "alembic.ini").is_file():
            config = Config(str(folder / "alembic.ini"))
            config.attributes["connection"] = connection
            return config
    raise FileNotFoundError("alembic.ini not found; run mia-arena from its checkout or image")


def upgrade(connection: Connection | None = None, revision: str = "head") -> None:
    """Migrate the database (DATABASE_URL's, or the connection's) to `revision`."""
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str = "base") -> None:
    """Migrate a connection's database down to `revision` (tests prove it reverses)."""
    command.downgrade(alembic_config(connection), revision)


def request_session(request: Request) -> Iterator[Session]:
    """The request's session: committed when the handler succeeds, rolled back when it raises."""
    with committing(request.app.state.session_factory()) as session:
        yield session


# scope="function": the commit happens before the response is sent, never after.
SessionDep = Annotated[Session, Depends(request_session, scope="function")]
