"""Settings come from the environment and refuse what would be unsafe."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import Settings


@pytest.mark.parametrize(
    "given",
    ["postgresql://arena@db.example.org:5432/mia", "postgres://arena@db.example.org:5432/mia"],
)
def test_a_providers_postgres_url_gets_the_psycopg_driver(given: str) -> None:
    """The plain URL hosting providers print works as it is."""
    url = Settings(database_url=given).database_url
    assert url == "postgresql+psycopg://arena@db.example.org:5432/mia"


def test_defaults_are_the_embedded_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """No environment: a SQLite file, no Redis, development mode."""
    for name in ("DATABASE_URL", "REDIS_URL", "ENVIRONMENT", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and settings.environment == "development"


def test_production_refuses_to_start_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """ENVIRONMENT=production without SECRET_KEY stops the server, saying how to fix it."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings()
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    assert Settings().secret_key == "s" * 40


def test_development_without_a_secret_gets_a_random_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """No known default key exists to forge cookies with: each process draws its own."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    first, second = Settings().secret_key, Settings().secret_key
    assert len(first) >= 48 and first != second


def test_an_unknown_database_scheme_is_refused() -> None:
    """A MySQL URL is named as the problem."""
    with pytest.raises(ValidationError, match="DATABASE_URL must be a postgresql"):
        Settings(database_url="mysql://root@localhost/mia")
