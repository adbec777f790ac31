"""Teams: a member's submissions belong to the team, and limits count per team."""

from __future__ import annotations

from sqlalchemy import Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class Team(Timestamped, Base):
    """A group of participants who submit as one; others join with its invite code."""

    __tablename__ = "teams"
    __table_args__ = (Index("uq_teams_name_lower", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    invite_code: Mapped[str] = mapped_column(String(32), unique=True)
