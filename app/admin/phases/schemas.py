"""What the phases API (and the phases form) reads and answers: one input schema for both, so
a setting one of them offers is a setting the other applies."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models.phase import LeaderboardPolicy

MAX_LIMIT = 1_000_000


class PhaseOut(BaseModel):
    """A phase as organizers see it; `ladder_eta` null means exact scores."""

    id: int
    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    accepts_uploads: bool
    scored_splits: list[str]
    shown_splits: list[str]
    max_per_day: int
    max_total: int
    leaderboard_policy: LeaderboardPolicy
    allow_pinning: bool
    ladder_eta: float | None


class PhaseIn(BaseModel):
    """Settings to change; the ones left out stay as they are. Dates without a zone are UTC;
    `starts_at: null` means not started, `ends_at: null` no end, `ladder_eta: null` exact
    scores (as do `no_end` and `exact_scores`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"max_per_day": 5, "max_total": 100},
                {"ladder_eta": 0.01, "allow_pinning": True},
                {"exact_scores": True, "ends_at": "2026-12-24T12:00:00Z"},
            ]
        },
    )

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    no_end: bool = Field(False, description="remove the phase's end date")
    accepts_uploads: bool | None = None
    max_per_day: int | None = Field(None, ge=0, le=MAX_LIMIT)
    max_total: int | None = Field(None, ge=0, le=MAX_LIMIT)
    leaderboard_policy: LeaderboardPolicy | None = None
    allow_pinning: bool | None = Field(None, description="participants may pin a submission")
    ladder_eta: float | None = Field(
        None, gt=0, le=0.5, description="turn the Ladder on with this step; null turns it off"
    )
    exact_scores: bool = Field(False, description="turn the Ladder off")

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Dates without a zone are taken as UTC, as the pages show them."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)
