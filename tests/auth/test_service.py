"""Accounts and API tokens, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.passwords import verify_password
from app.core.errors import Conflict, Invalid
from app.models.audit import AuditEntry
from app.models.token import ApiToken
from app.models.user import Role


def test_a_password_is_stored_as_an_argon2_hash_only(session: Session) -> None:
    """The hash verifies the password, and the password itself is stored nowhere."""
    user = auth.create_user(session, "Ada@Example.org", "correct horse", role=Role.ORGANIZER)
    assert user.email == "ada@example.org" and user.display_name == "ada"
    assert user.password_hash.startswith("$argon2id$") and "correct horse" not in user.password_hash
    assert verify_password(user.password_hash, "correct horse")
    assert not verify_password(user.password_hash, "wrong horse")
    audit = session.scalars(select(AuditEntry)).one()
    assert (audit.action, audit.detail["role"]) == ("user.create", "organizer")


@pytest.mark.parametrize(
    ("email", "password", "name", "error", "words"),
    [
        ("not-an-email", "long enough pw", None, Invalid, "is not an email address"),
        ("bo@example.org", "short", None, Invalid, "at least 10 characters"),
        ("bo@example.org", "long enough pw", "<script>", Invalid, "display name is 2-64"),
        ("ADA@example.org", "long enough pw", "other", Conflict, "already exists"),
        ("ada2@example.org", "long enough pw", "ada", Conflict, "display name 'ada' is taken"),
        ("ada3@example.org", "long enough pw", "ADA", Conflict, "display name 'ADA' is taken"),
    ],
)
def test_bad_or_clashing_accounts_are_refused_with_a_reason(
    session: Session, email: str, password: str, name: str | None, error: type, words: str
) -> None:
    """Each refusal says what to change."""
    auth.create_user(session, "ada@example.org", "long enough pw", role=Role.PARTICIPANT)
    with pytest.raises(error, match=words):
        auth.create_user(session, email, password, role=Role.PARTICIPANT, display_name=name)


def test_a_token_is_shown_once_and_stored_as_a_hash(session: Session) -> None:
    """The token finds its owner; only its SHA-256 and a short prefix are stored."""
    user = auth.create_user(session, "ada@example.org", "long enough pw", role=Role.PARTICIPANT)
    row, token = auth.create_token(session, user, "laptop")
    assert token.startswith("mia_") and len(token) > 40 and row.prefix == token[:12]
    stored = session.scalars(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.prefix, stored.name)
    assert auth.user_for_token(session, token) == user
    assert auth.user_for_token(session, token + "x") is None


def test_revoked_tokens_and_inactive_users_are_refused(session: Session) -> None:
    """A revoked token, or one of a deactivated account, finds nobody."""
    user = auth.create_user(session, "ada@example.org", "long enough pw", role=Role.PARTICIPANT)
    row, token = auth.create_token(session, user)
    user.is_active = False
    assert auth.user_for_token(session, token) is None
    user.is_active = True
    row.revoked_at = row.created_at
    assert auth.user_for_token(session, token) is None
