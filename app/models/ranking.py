"""A scored submission's ranking score per split: what leaderboards sort, one row to read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Ranking(Base):
    """The mean TPR at the ranking FPR over the track's scenarios, on one split, and its 95%
    cluster-bootstrap interval once the intervals job has computed it (null until then), with
    the score of each of the track's common replicates (what rank intervals compare)."""

    __tablename__ = "rankings"
    __table_args__ = (
        Index("ix_rankings_split_score", "split", "ranking_score"),
        # The sweeper's question, "which intervals are still missing?", reads only these rows.
        Index(
            "ix_rankings_ci_missing",
            "ci_sent_at",
            postgresql_where="ci_low IS NULL",
            sqlite_where="ci_low IS NULL",
        ),
    )

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    split: Mapped[str] = mapped_column(String(16), primary_key=True)
    ranking_score: Mapped[float]
    ci_low: Mapped[float | None]
    ci_high: Mapped[float | None]
    # The 1,000 replicates' ranking scores, float32 little-endian (NaN: none), shared
    # weights across the track and split: `app.scoring.bootstrap.ranking_interval`.
    replicates: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # When the intervals job was last sent for this row: the sweeper resends after a minute.
    ci_sent_at: Mapped[datetime | None]
