"""Per track, split and owner, the submissions that may stand for the owner on a leaderboard:
what ranking reads instead of every submission, so that its cost grows with the participants,
not with their uploads (`app.leaderboard.representatives` keeps it current)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Representative(Base):
    """One owner's candidates on one split of a track: a team as minus its id, a user who
    uploaded alone as their id; the competition's rows and a benchmark phase's apart. Each
    policy's pick (latest, best; a pinned one first where pinning is allowed) among the owner's
    rankable submissions (scored, not disqualified, not uploaded by a banned participant),
    and how many those are."""

    __tablename__ = "representatives"

    track_id: Mapped[int] = mapped_column(
        ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[int] = mapped_column(primary_key=True)  # first: an owner's rows are together
    split: Mapped[str] = mapped_column(String(16), primary_key=True)
    benchmark: Mapped[bool] = mapped_column(primary_key=True)
    submissions: Mapped[int]
    latest_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    best_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    # The latest and the best of the pinned ones (one at most, as pinning unpins the others).
    pinned_latest_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE")
    )
    pinned_best_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE")
    )
    # When this row was last worked out: a leaderboard's signature notices any change by it.
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
