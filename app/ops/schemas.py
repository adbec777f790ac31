"""The answers of /healthz and /readyz."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    """The process is up and answering."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether this process can serve: each dependency's state."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(
        description="`ok`, or what is wrong, per dependency: `database` always, `broker` "
        "(Redis) when REDIS_URL is set.",
        examples=[{"database": "ok", "broker": "unreachable (ConnectionError)"}],
    )
