"""Each replacement of a track's ground truth: what it was before and after (digests, never
labels), and which submissions it sent to be scored again, so that progress can be counted."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class TruthVersion(Timestamped, Base):
    """One upload that replaced a track's ground truth.

    Every submission of the track with an id up to `last_submission_id` was queued again in
    the same transaction: their statuses since then are the rescoring's progress.
    """

    __tablename__ = "truth_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    digests_before: Mapped[dict[str, str | None]] = mapped_column(JSON)
    digests_after: Mapped[dict[str, str | None]] = mapped_column(JSON)
    submissions: Mapped[int]  # how many were queued again
    last_submission_id: Mapped[int | None]
