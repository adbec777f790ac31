"""Teams: a member's submissions belong to the team, and limits count per team."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class Team(Timestamped, Base):
    """A group of participants who submit as one; others join with its invite code."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    invite_code: Mapped[str] = mapped_column(String(32), unique=True)
