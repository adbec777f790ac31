"""Mails to send, written in the caller's transaction and sent once it commits (by
app.mail.outbox). Transactional mails (a password reset, an address to confirm) always go;
notices only to accounts that keep them on, and each at most once per event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import jobs
from app.mail import outbox
from app.models.outbox import OutboxMail
from app.models.user import User


def send(session: Session, user: User, kind: str, **context: Any) -> OutboxMail:
    """Queue a mail the person asked for (templates/mail/<kind>.txt), sent whatever their
    notices setting."""
    mail = OutboxMail(kind=kind, to_address=user.email, user_id=user.id, context=context)
    session.add(mail)
    session.flush()
    jobs.after_commit(session, outbox.wake)
    return mail


def notify(
    session: Session, user: User, kind: str, *, once: str | None = None, **context: Any
) -> OutboxMail | None:
    """Queue a notice, unless the account turned notices off or (with `once`, a key naming
    the event and the person) it was queued already. The notice, or None."""
    if not user.notices:
        return None
    if once is not None:
        if session.scalar(select(OutboxMail.id).where(OutboxMail.once_key == once)):
            return None
    mail = OutboxMail(
        kind=kind, to_address=user.email, user_id=user.id, context=context, once_key=once
    )
    session.add(mail)
    session.flush()
    jobs.after_commit(session, outbox.wake)
    return mail
