"""Each participant's representative submission per track and split, kept up to date as scores
land, so a leaderboard reads one row per participant instead of ranking every submission."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Standing(Base):
    """A participant's (owner: a user's id, or minus a team's) row on one leaderboard."""

    __tablename__ = "standings"
    __table_args__ = (Index("ix_standings_board", "track_id", "split", "ranking_score"),)

    track_id: Mapped[int] = mapped_column(
        ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True
    )
    split: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    ranking_score: Mapped[float]
    submitted_at: Mapped[datetime]
    submissions: Mapped[int]
