"""A scored submission's ranking score per split: what leaderboards sort, one row to read."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Ranking(Base):
    """The mean TPR at the ranking FPR over the track's scenarios, on one split."""

    __tablename__ = "rankings"
    __table_args__ = (Index("ix_rankings_split_score", "split", "ranking_score"),)

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    split: Mapped[str] = mapped_column(String(16), primary_key=True)
    ranking_score: Mapped[float]
