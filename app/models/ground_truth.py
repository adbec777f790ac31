"""Hidden labels, one row per scenario and split; never serialised in a response or a log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class GroundTruth(Base):
    """The membership labels of every model of one scenario's split, bit-packed in model order.

    MICO's 50 models x 200 points fit in 1,250 bytes (numpy.packbits).
    """

    __tablename__ = "ground_truth"
    __table_args__ = (UniqueConstraint("scenario_id", "split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"))
    split: Mapped[str] = mapped_column(String(16))
    models: Mapped[int]
    points_per_model: Mapped[int]
    packed_labels: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"GroundTruth(scenario_id={self.scenario_id}, split={self.split!r}, labels hidden)"
