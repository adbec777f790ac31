"""The Alembic revisions build the schema the models describe, and take it down again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from app.core.db import downgrade, make_engine, upgrade
from app.models.registry import metadata


def test_upgrade_then_downgrade_on_postgresql(new_postgres_database: Callable[[], str]) -> None:
    """head builds every table, base removes them all, and head builds them again."""
    engine = make_engine(new_postgres_database())
    with engine.begin() as connection:
        upgrade(connection)
    assert set(inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
    with engine.begin() as connection:
        downgrade(connection)
    assert inspect(engine).get_table_names() == ["alembic_version"]
    with engine.begin() as connection:
        upgrade(connection)
    assert set(inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_models_and_migrations_agree(backend: str, request: pytest.FixtureRequest) -> None:
    """Autogenerate finds nothing to add, drop or alter on a migrated database."""
    engine: Engine = request.getfixturevalue(backend)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
