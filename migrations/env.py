"""Alembic environment: the models' metadata, the URL from the settings (or a given connection)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.exc import SAWarning

from app.core.config import get_settings
from app.core.db import make_engine
from app.models.base import UtcDateTime
from app.models.registry import metadata

# SQLite's batch mode reflects the tables a changed table refers to, and SQLite cannot reflect
# the lower() unique indexes of users and teams; those tables are not rebuilt, so their
# indexes stay as they are. Nothing for someone running `mia-arena db upgrade` to act on.
warnings.filterwarnings(
    "ignore", message="Skipped unsupported reflection of expression-based index", category=SAWarning
)


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Write the project's column types as the plain types they store, so revisions stay static."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate the connection the caller passed (tests, the CLI), or DATABASE_URL's database."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(get_settings().database_url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them on a database")
run_online()
