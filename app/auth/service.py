"""Accounts and API tokens. Services flush; the caller's session commits."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.passwords import MIN_LENGTH, hash_password
from app.core.errors import Conflict, Invalid, NotFound
from app.models.audit import AuditEntry
from app.models.token import ApiToken
from app.models.user import Role, User

TOKEN_PREFIX = "mia_"
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_NAME = re.compile(r"[\w.\- ]{2,64}")


def create_user(
    session: Session, email: str, password: str, *, role: Role, display_name: str | None = None
) -> User:
    """A new active account; Conflict when the email or display name is taken."""
    email = email.strip().lower()
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
    user = User(email=email, display_name=name, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    session.add(AuditEntry(action="user.create", detail={"user_id": user.id, "role": role.value}))
    return user


def user_by_email(session: Session, email: str) -> User:
    """The account with that email; NotFound otherwise."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no account has the email {email}")
    return user


def create_token(session: Session, user: User, name: str = "api") -> tuple[ApiToken, str]:
    """A new API token for `user`: the stored row and the token itself, shown this once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100], prefix=token[:12], token_hash=_digest(token))
    session.add(row)
    session.flush()
    return row, token


def user_for_token(session: Session, token: str) -> User | None:
    """The active owner of an unrevoked token, or None."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def _digest(token: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so a fast hash is the right one."""
    return hashlib.sha256(token.encode()).hexdigest()
