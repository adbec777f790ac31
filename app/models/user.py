"""People: participants, organizers and admins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, func, text, true
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped, str_enum


class Role(StrEnum):
    """What a user may do: organizers run competitions, admins run the server."""

    PARTICIPANT = "participant"
    ORGANIZER = "organizer"
    ADMIN = "admin"


class User(Timestamped, Base):
    """An account; the password is kept as an argon2 hash only."""

    __tablename__ = "users"
    # Display names clash whatever their case ("Ada" and "ada"), in the schema too.
    __table_args__ = (
        Index("uq_users_display_name_lower", func.lower(text("display_name")), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), default=Role.PARTICIPANT)
    is_active: Mapped[bool] = mapped_column(default=True)
    # In every session cookie; signing out or changing the password bumps it, which ends
    # every copy of the user's earlier cookies (they are signed, not stored server-side).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the account confirmed its e-mail address (by a signed link); None: not yet, so it
    # may not register for competitions or upload (only when EMAIL_CONFIRMATION is on).
    email_confirmed_at: Mapped[datetime | None] = mapped_column()
    # Whether the account gets notices (a submission failed, a registration decided, a phase
    # opening or closing, results revealed); mails it asked for are always sent.
    notices: Mapped[bool] = mapped_column(default=True, server_default=true())
