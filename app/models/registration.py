"""Who takes part in a competition, and on what terms."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped, str_enum


class RegistrationStatus(StrEnum):
    """Where a registration stands; a banned user can do nothing in that competition."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    BANNED = "banned"


class Registration(Timestamped, Base):
    """A user's registration to a competition, with the moment they accepted its terms."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("competition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, "registration_status")
    )
    terms_accepted_at: Mapped[datetime]
    # The version accepted: SHA-256 of the terms' text as shown; None before versions were kept.
    terms_sha256: Mapped[str | None] = mapped_column(String(64))
    # Set by an organizer for this participant: replaces the phase's limit; None keeps it.
    max_per_day: Mapped[int | None]
    max_total: Mapped[int | None]
