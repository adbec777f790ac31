"""Phases: when uploads open, which splits are scored and shown, and the limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, str_enum


class LeaderboardPolicy(StrEnum):
    """Which submission represents a participant: the latest (MICO's rule) or the best."""

    LATEST = "latest"
    BEST = "best"


class Phase(Base):
    """A phase of a competition, e.g. MICO's Development and Final."""

    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("competition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    accepts_uploads: Mapped[bool] = mapped_column(default=True)
    scored_splits: Mapped[list[str]] = mapped_column(JSON)
    shown_splits: Mapped[list[str]] = mapped_column(JSON)
    max_per_day: Mapped[int]
    max_total: Mapped[int]
    max_bytes: Mapped[int]
    leaderboard_policy: Mapped[LeaderboardPolicy] = mapped_column(
        str_enum(LeaderboardPolicy, "leaderboard_policy"), default=LeaderboardPolicy.LATEST
    )
    # A participant may choose the submission that represents them.
    allow_pinning: Mapped[bool] = mapped_column(default=False)
    # The Ladder (Blum and Hardt, 2015): the public score moves only by more than eta, rounded
    # to it; None shows exact scores.
    ladder_eta: Mapped[float | None]
    # A living benchmark opened after the competition (app/benchmark): its uploads rank on the
    # benchmark's own leaderboard, never on the competition's frozen final ranking.
    benchmark: Mapped[bool] = mapped_column(default=False, server_default=false())
