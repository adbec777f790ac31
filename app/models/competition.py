"""Competitions and their Markdown pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class Competition(Timestamped, Base):
    """A competition such as MICO: tracks, phases, pages and who may take part."""

    __tablename__ = "competitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    overview_md: Mapped[str] = mapped_column(Text, default="")
    data_md: Mapped[str] = mapped_column(Text, default="")
    evaluation_md: Mapped[str] = mapped_column(Text, default="")
    terms_md: Mapped[str] = mapped_column(Text, default="")
    requires_approval: Mapped[bool] = mapped_column(default=False)
    points_per_model: Mapped[int] = mapped_column(default=200)
    # Hidden splits (MICO's final) are shown to everyone from this moment; None: hidden.
    revealed_at: Mapped[datetime | None]
    # The version 2 definition it was created from (`Definition.to_dict`: no labels); None for
    # MICO's built-in one. Tracks and scenarios as stored in their tables win over its lists.
    # When the organizers say they published the hidden labels (an admin setting): benchmark
    # rows submitted since are marked; None: not published.
    labels_published_at: Mapped[datetime | None]
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
