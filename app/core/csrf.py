"""CSRF protection for forms: a per-session token, sent back in every state-changing form."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, Form, Request

from app.core.errors import DomainError


class CsrfError(DomainError):
    """A form without the session's token: an old page, or another site posting."""

    status_code = 403


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (templates put it in every form)."""
    token: str | None = request.session.get("csrf")
    if token is None:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def verify_csrf(request: Request, csrf_token_field: str = Form("", alias="csrf_token")) -> None:
    """Dependency of every form handler that changes state."""
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(expected, csrf_token_field):
        raise CsrfError("this form has expired or did not come from this site; reload the page")


CSRF_CHECKED = [Depends(verify_csrf)]  # `dependencies=` of every form route that changes state
