"""The scenarios of a track (MICO: three per track)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Scenario(Base):
    """One scenario; scored on its own, averaged into the track's ranking score."""

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("track_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
