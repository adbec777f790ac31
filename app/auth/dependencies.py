"""Who is asking: the browser's signed session cookie, or an API bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth import service as auth
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.models.user import User


class LoginRequired(DomainError):
    """A page for signed-in users only; pages answer with a redirect to the login form."""

    status_code = 401


class BadToken(DomainError):
    """No API token, or not a valid one."""

    status_code = 401


def browser_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in user of this browser session, if any (and still active)."""
    user_id = request.session.get("user_id")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or request.session.get("epoch") != user.session_epoch:
        return None
    return user


def signed_in(user: Annotated[User | None, Depends(browser_user)]) -> User:
    """The signed-in user, or LoginRequired."""
    if user is None:
        raise LoginRequired("sign in to see this page")
    return user


def api_user(request: Request, session: SessionDep) -> User:
    """The owner of the `Authorization: Bearer <token>` of an API request, or BadToken (401)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise BadToken("send an API token: Authorization: Bearer <token> (mia-arena tokens create)")
    user = auth.user_for_token(session, token.strip(), touch=True)
    if user is None:
        raise BadToken("this API token is not valid (revoked, mistyped or of a disabled account)")
    return user


def maybe_api_user(request: Request, session: SessionDep) -> User | None:
    """The token's owner when a token is sent (401 if it is not valid); None for anonymous."""
    if "authorization" not in request.headers:
        return None
    return api_user(request, session)


MaybeApiUser = Annotated[User | None, Depends(maybe_api_user)]
MaybeUser = Annotated[User | None, Depends(browser_user)]
SignedIn = Annotated[User, Depends(signed_in)]
ApiUser = Annotated[User, Depends(api_user)]
