"""The one settings object: every setting comes from the environment through it, nowhere else."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"


class Settings(BaseSettings):
    """mia-arena's configuration, read from environment variables (see the README)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./mia-arena.sqlite3"
    redis_url: str | None = None
    secret_key: str = DEVELOPMENT_SECRET
    max_upload_bytes: int = Field(default=2 * 1024 * 1024, gt=0)

    @field_validator("database_url")
    @classmethod
    def _driver(cls, url: str) -> str:
        """`postgresql://` and `postgres://`, as providers print them, use the psycopg driver."""
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        if not url.startswith(("postgresql+", "sqlite")):
            raise ValueError("DATABASE_URL must be a postgresql:// or sqlite:/// URL")
        return url

    @model_validator(mode="after")
    def _production_secret(self) -> Settings:
        """Refuse to run in production with the development secret or a short one."""
        if self.environment == "production" and (
            self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "SECRET_KEY must be set to a random value of 32 characters or more in "
                "production, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self


@cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
