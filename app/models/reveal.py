"""The record of a revealed ranking: kept as it was shown, so later changes show as changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Reveal(Base):
    """One track's ranking on a hidden split at the moment organizers revealed it."""

    __tablename__ = "reveals"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    split: Mapped[str] = mapped_column(String(16))
    revealed_at: Mapped[datetime] = mapped_column(default=utcnow)
    revealed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
