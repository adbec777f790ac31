"""Accounts and API tokens. Services flush; the caller's session commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import cache

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.auth.passwords import MIN_LENGTH, hash_password, verify_password
from app.core.db import committing
from app.core.errors import Conflict, DomainError, Invalid, NotFound
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.login_attempt import LoginAttempt
from app.models.token import ApiToken
from app.models.user import Role, User

TOKEN_PREFIX = "mia_"
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_NAME = re.compile(r"[\w.\- ]{2,64}")


def create_user(
    session: Session, email: str, password: str, *, role: Role, display_name: str | None = None
) -> User:
    """A new active account; Conflict when the email or display name is taken."""
    email = _normal_email(email)
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise Invalid(f"'{email}' is not an email address")
    name = (display_name or email.split("@")[0]).strip()
    if not _NAME.fullmatch(name):
        raise Invalid("a display name is 2-64 letters, digits, spaces, '.', '-' or '_'")
    if len(password) < MIN_LENGTH:
        raise Invalid(f"a password needs at least {MIN_LENGTH} characters")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"an account with the email {email} already exists")
    if session.scalar(select(User.id).where(func.lower(User.display_name) == name.lower())):
        raise Conflict(f"the display name '{name}' is taken; choose another with --name")
    user = User(
        email=email,
        display_name=name,
        password_hash=hash_password(password),
        role=role,
        email_confirmed_at=utcnow(),  # the sign-up page unsets it when confirmation is asked
    )
    session.add(user)
    session.flush()
    session.add(AuditEntry(action="user.create", detail={"user_id": user.id, "role": role.value}))
    return user


def user_by_email(session: Session, email: str) -> User:
    """The account with that email; NotFound otherwise."""
    user = session.scalar(select(User).where(User.email == _normal_email(email)))
    if user is None:
        raise NotFound(f"no account has the email {email}")
    return user


def create_token(session: Session, user: User, name: str = "api") -> tuple[ApiToken, str]:
    """A new API token for `user`: the stored row and the token itself, shown this once."""
    if not name.isprintable():
        raise Invalid("a token name may not hold control characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100], prefix=token[:12], token_hash=_digest(token))
    session.add(row)
    session.flush()
    return row, token


def user_for_token(session: Session, token: str, *, touch: bool = False) -> User | None:
    """The active owner of an unrevoked token, or None; `touch` records the use (to the
    minute: a script polling ten times a second does not write ten times a second)."""
    found = (
        session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
        )
        .tuples()
        .first()
    )
    if found is None or not found[1].is_active:
        return None
    row, user = found
    now = utcnow()
    if touch and (row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY):
        row.last_used_at = now
    return user


TOUCH_EVERY = timedelta(minutes=1)


def _normal_email(email: str) -> str:
    """Emails are kept and compared trimmed and lower-cased."""
    return email.strip().lower()


def _digest(token: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so a fast hash is the right one."""
    return hashlib.sha256(token.encode()).hexdigest()


class TooManyAttempts(DomainError):
    """Too many failed logins for an account or from an address in the window."""

    status_code = 429


LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5  # one person guessing one account
MAX_FAILURES_PER_ACCOUNT = 50  # many addresses guessing one account
MAX_FAILURES_PER_ADDRESS = 100  # one address guessing many accounts (a NAT may hold many users)


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist: the same time either way."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(
    session: Session, email: str, password: str, address: str, attempts: Callable[[], Session]
) -> User:
    """The account for these credentials; failures are counted, and limited, in the database.

    The attempt is counted and recorded in a short session of its own from `attempts` (a
    session factory), committed before the (slow) password check: guesses sent in parallel are
    counted as they arrive, not after argon2 has run for each, and a failed attempt stays
    recorded when the request's session is rolled back. Success removes it, in `session`.
    """
    email, address = _normal_email(email)[:320], address[:64]
    with committing(attempts()) as own:
        _refuse_when_too_many(own, email, address)
        attempt = LoginAttempt(email=email, address=address)
        own.add(attempt)
        own.flush()
        attempt_id = attempt.id
    user = session.scalar(select(User).where(User.email == email))
    valid = verify_password(user.password_hash if user else _dummy_hash(), password)
    if user is None or not user.is_active or not valid:
        raise Invalid("wrong email or password")
    session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
    return user


def _refuse_when_too_many(session: Session, email: str, address: str) -> None:
    """TooManyAttempts when the failures in the window reach a limit."""
    since = utcnow() - LOGIN_WINDOW
    recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.created_at > since)
    limits = (
        (
            recent.where(LoginAttempt.email == email, LoginAttempt.address == address),
            MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS,
        ),
        (recent.where(LoginAttempt.email == email), MAX_FAILURES_PER_ACCOUNT),
        (recent.where(LoginAttempt.address == address), MAX_FAILURES_PER_ADDRESS),
    )
    if any((session.scalar(query) or 0) >= limit for query, limit in limits):
        minutes = int(LOGIN_WINDOW.total_seconds() // 60)
        raise TooManyAttempts(f"too many failed logins; try again in {minutes} minutes")


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Replace the password, after checking the current one."""
    if not verify_password(user.password_hash, current):
        raise Invalid("the current password is wrong")
    if len(new) < MIN_LENGTH:
        raise Invalid(f"a password needs at least {MIN_LENGTH} characters")
    user.password_hash = hash_password(new)
    user.session_epoch += 1


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """A user's tokens, newest first (hashes only: the tokens themselves are gone)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(session.scalars(query))


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (the row); another user's token is NotFound."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("no such token")
    row.revoked_at = row.revoked_at or utcnow()
    return row
