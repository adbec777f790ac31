"""Mails waiting to be sent: written in the transaction of the event they tell of, sent after
it commits by a worker job (app.mail.outbox), retried, never twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped, utcnow


class OutboxMail(Timestamped, Base):
    """One mail: pending until `sent_at`; `next_attempt_at` is both the retry time and a
    sender's claim (moved ahead while a sender has it)."""

    __tablename__ = "outbox_mails"
    __table_args__ = (Index("ix_outbox_mails_pending", "next_attempt_at", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The template (templates/mail/<kind>.txt) and what it shows, rendered when sent (with
    # the site's address of the sender's settings).
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(320), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A notice sent once per event and person ("phase 3 closes, to user 7"): a second one for
    # the same key is not written.
    once_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
