"""Signed links by mail: a password reset (expiring, single-use) and an address to confirm.

A reset link carries the account's id and a fingerprint of its password hash, signed with
SECRET_KEY and timestamped: once the password changes (the link used, or a change on the
account page) the fingerprint no longer matches, so the link works once and only until then.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.passwords import MIN_LENGTH, hash_password
from app.core.errors import DomainError, Invalid
from app.mail import service as mail
from app.models.base import utcnow
from app.models.outbox import OutboxMail
from app.models.user import User

log = logging.getLogger(__name__)
RESETS_PER_HOUR = 3  # reset mails to one address; more requests are answered but not sent
CONFIRM_SECONDS = 7 * 24 * 3600


class DeadLink(DomainError):
    """A link that expired, was used already, or was never ours."""

    status_code = 410


def _signer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"mia-arena {purpose}")


def _fingerprint(user: User) -> str:
    """Changes whenever the password does (a new hash has a new salt)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def request_reset(session: Session, email: str, secret: str, max_age: int) -> None:
    """Queue a reset link to the account with this address, if there is one (the caller
    answers the same either way) and it has not had RESETS_PER_HOUR in the last hour."""
    address = email.strip().lower()[:320]
    user = session.scalar(select(User).where(User.email == address))
    if user is None or not user.is_active:
        return
    recent = session.scalar(
        select(func.count())
        .select_from(OutboxMail)
        .where(
            OutboxMail.user_id == user.id,
            OutboxMail.kind == "password_reset",
            OutboxMail.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        log.warning("reset link for user %s not sent: %s in the last hour", user.id, recent)
        return
    token = _signer(secret, "reset").dumps({"u": user.id, "p": _fingerprint(user)})
    mail.send(
        session,
        user,
        "password_reset",
        name=user.display_name,
        path=f"/reset/{token}",
        valid_for=_duration(max_age),
    )


def user_for_reset(session: Session, token: str, secret: str, max_age: int) -> User:
    """The account a reset link is for; DeadLink when it expired, was used, or is not one."""
    payload = _load(token, secret, "reset", max_age, f"{_duration(max_age)} old")
    user = session.get(User, payload.get("u")) if isinstance(payload.get("u"), int) else None
    if user is None or not user.is_active or payload.get("p") != _fingerprint(user):
        raise DeadLink(
            "this link was used already (or the password was changed since it was sent): "
            "ask for a new one"
        )
    return user


def reset_password(session: Session, token: str, new: str, secret: str, max_age: int) -> User:
    """Set a new password through a reset link, ending every session of the account."""
    user = user_for_reset(session, token, secret, max_age)
    if len(new) < MIN_LENGTH:
        raise Invalid(f"a password needs at least {MIN_LENGTH} characters")
    user.password_hash = hash_password(new)
    user.session_epoch += 1
    # Following the link proves the address is theirs.
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    return user


def send_confirmation(session: Session, user: User, secret: str) -> None:
    """Queue a link that confirms the account's address."""
    token = _signer(secret, "confirm").dumps({"u": user.id, "e": user.email})
    mail.send(session, user, "confirm_email", name=user.display_name, path=f"/confirm/{token}")


def confirm_email(session: Session, token: str, secret: str) -> User:
    """Mark the account's address confirmed (again is harmless); DeadLink otherwise."""
    payload = _load(token, secret, "confirm", CONFIRM_SECONDS, "a week old")
    user = session.get(User, payload.get("u")) if isinstance(payload.get("u"), int) else None
    if user is None or payload.get("e") != user.email:
        raise DeadLink("this link is not valid for any account: ask for a new one")
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    return user


def _load(token: str, secret: str, purpose: str, max_age: int, age: str) -> dict[str, Any]:
    try:
        payload = _signer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise DeadLink(f"this link has expired (it is more than {age}): ask for a new one") from exc
    except BadSignature as exc:
        raise DeadLink("this link is not valid (mistyped or cut short): ask for a new one") from exc
    return payload if isinstance(payload, dict) else {}


def _duration(seconds: int) -> str:
    """3600 -> 'an hour', 7200 -> '2 hours', 900 -> '15 minutes'."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "an hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "a minute" if minutes == 1 else f"{minutes} minutes"
    return "a second" if seconds == 1 else f"{seconds} seconds"
