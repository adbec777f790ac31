"""Scores: every metric and the compact ROC of one submission, split and scenario."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class Score(Timestamped, Base):
    """The official metrics (keyed as the official program keys them) and the ROC for plots."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("submission_id", "split", "scenario_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    split: Mapped[str] = mapped_column(String(16))
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"))
    metrics: Mapped[dict[str, float]] = mapped_column(JSON)
    roc: Mapped[dict[str, Any]] = mapped_column(JSON)
