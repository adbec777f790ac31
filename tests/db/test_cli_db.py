"""`mia-arena db upgrade` on the URL forms organizers paste."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import inspect

from app.core.db import make_engine
from app.models.registry import metadata

CLI = str(Path(sys.executable).with_name("mia-arena"))


def _upgrade(url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [CLI, "db", "upgrade"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_upgrade_on_a_plain_postgresql_url_twice(
    new_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    """postgresql://user:password@host/db as printed by providers; the password is not echoed."""
    url = new_postgres_database()
    plain = url.replace("postgresql+psycopg://postgres@", "postgresql://postgres:s3cret@")
    for _ in range(2):
        result = _upgrade(plain, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "is at the latest revision" in result.stdout and "s3cret" not in result.stdout
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
    engine.dispose()


def test_upgrade_on_a_sqlite_file(tmp_path: Path) -> None:
    """The embedded default works the same way, from any folder."""
    result = _upgrade(f"sqlite:///{tmp_path / 'demo.sqlite3'}", tmp_path)
    assert result.returncode == 0, result.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    assert "submissions" in inspect(engine).get_table_names()
    engine.dispose()
