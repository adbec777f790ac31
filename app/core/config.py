"""The one settings object: every setting comes from the environment through it, nowhere else."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """mia-arena's configuration, read from environment variables (see the README)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./mia-arena.sqlite3"
    redis_url: str | None = None
    # Unset in development: a random key per process (sessions end when it restarts).
    secret_key: str = Field(default="", repr=False)
    max_upload_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    # The largest ground-truth zip organizers may upload (the truth pages and API only).
    truth_upload_max_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    # The sweeper resends a submission left queued or scoring this long (a lost message, a dead
    # worker); every this often; and gives up, as the server's fault, after this many runs.
    stuck_after_seconds: float = Field(default=60, gt=0)
    sweep_interval_seconds: float = Field(default=10, gt=0)
    scoring_attempts: int = Field(default=5, ge=1)
    # Each worker runs a sweeper (one sweeps at a time); off for workers that should not.
    worker_sweeper: bool = True
    # A leaderboard is computed at most once per this many seconds per web process.
    leaderboard_cache_seconds: float = Field(default=2, ge=0)
    # Without REDIS_URL the web server scores in-process, on this many threads.
    embedded_scorer_threads: int = Field(default=2, ge=1)
    # Logs as JSON lines (one object a line, for a log collector) or as text for people;
    # unset: JSON in production, text in development.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # When set, GET /metrics asks for `Authorization: Bearer <this token>`.
    metrics_token: str | None = Field(default=None, repr=False)
    # Where the web server's processes share their Prometheus counters (prometheus_client's
    # multiprocess mode); `mia-arena serve` empties it at start, and makes one when unset.
    prometheus_multiproc_dir: str | None = None

    # Where submission zips are kept: `database` (each in its row, the default) or `directory`
    # (files under ZIP_DIRECTORY, which every web process and worker must share: one machine,
    # or a shared volume). `mia-arena submissions move-zips` moves the stored ones over.
    zip_storage: Literal["database", "directory"] = "database"
    zip_directory: str | None = None

    # E-mail. With SMTP_HOST unset (the demo, development) mails are printed to the log.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    # starttls: plain connection upgraded (port 587); tls: TLS from the start (465); none.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    mail_from: str = "mia-arena <noreply@localhost>"
    # The site's address as people reach it, for the links in mails.
    public_url: str = "http://localhost:8000"
    # How long a password-reset link works.
    password_reset_seconds: int = Field(default=3600, ge=1)
    # When on, a new account confirms its e-mail address (a link by mail) before it may
    # register for competitions or upload.
    email_confirmation: bool = False
    # The outbox is sent every this often (sooner when a mail is written), a failed mail
    # retried later each time (up to an hour apart), and given up after this many attempts.
    mail_interval_seconds: float = Field(default=5, gt=0)
    mail_attempts: int = Field(default=10, ge=1)

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

    @field_validator(
        "metrics_token",
        "prometheus_multiproc_dir",
        "redis_url",
        "smtp_host",
        "smtp_user",
        "zip_directory",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        """`METRICS_TOKEN=` (as compose writes an unset `${METRICS_TOKEN:-}`) means no value."""
        return value or None

    @property
    def json_logs(self) -> bool:
        """Whether logs are JSON lines: LOG_FORMAT, or else whether this is production."""
        if self.log_format is not None:
            return self.log_format == "json"
        return self.environment == "production"

    @model_validator(mode="after")
    def _zip_directory(self) -> Settings:
        """Files need a folder: ZIP_STORAGE=directory without ZIP_DIRECTORY is refused at start."""
        if self.zip_storage == "directory" and not self.zip_directory:
            raise ValueError(
                "ZIP_STORAGE=directory needs ZIP_DIRECTORY, the folder (shared by every web "
                "process and worker) where submission zips are kept"
            )
        return self

    @model_validator(mode="after")
    def _secret(self) -> Settings:
        """Production needs a real SECRET_KEY; development makes a random one if none is set."""
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError(
                "SECRET_KEY must be set to a random value of 32 characters or more in "
                "production, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if not self.secret_key:
            self.secret_key = secrets.token_urlsafe(48)
        return self


@cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
