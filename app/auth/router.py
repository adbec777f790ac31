"""Signing up, in and out, and the API's /me. The account page is in account_router.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import service as auth
from app.auth.dependencies import ApiUser, MaybeUser
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.forms import done, refused
from app.core.openapi import problems
from app.core.templating import templates
from app.models.user import Role, User

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["account"], responses=problems(401))
Text = Annotated[str, Form()]


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)


def _sign_in(request: Request, user: User, message: str) -> RedirectResponse:
    """Start a fresh session for `user` (a new CSRF token too) and go to the account page."""
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["epoch"] = user.session_epoch
    return done(request, "/account", message)


@pages.get("/register")
def register_form(request: Request, user: MaybeUser) -> Response:
    return _page(request, "auth/register.html", user=user)


@pages.post("/register", dependencies=CSRF_CHECKED)
def register(
    request: Request, session: SessionDep, email: Text, display_name: Text, password: Text
) -> Response:
    try:
        user = auth.create_user(
            session, email, password, role=Role.PARTICIPANT, display_name=display_name
        )
    except DomainError as exc:
        return refused(
            request, session, "auth/register.html", exc, email=email, display_name=display_name
        )
    return _sign_in(request, user, f"Account created: you are signed in as {user.display_name}")


@pages.get("/login")
def login_form(request: Request, user: MaybeUser) -> Response:
    return _page(request, "auth/login.html", user=user)


@pages.post("/login", dependencies=CSRF_CHECKED)
def login(request: Request, session: SessionDep, email: Text, password: Text) -> Response:
    address = request.client.host if request.client else "unknown"
    # The attempt is recorded in a session of its own: it stays when this one is rolled back.
    attempts = request.app.state.session_factory
    try:
        user = auth.authenticate(session, email, password, address, attempts)
    except DomainError as exc:
        return refused(request, session, "auth/login.html", exc, email=email)
    return _sign_in(request, user, f"Signed in as {user.display_name}")


@pages.post("/logout", dependencies=CSRF_CHECKED)
def logout(request: Request, user: MaybeUser) -> Response:
    if user is not None:
        user.session_epoch += 1  # every copy of this user's cookies stops working
    request.session.clear()
    return done(request, "/login", "Signed out" if user is not None else None)


@api.get("/me")
def me(user: ApiUser) -> dict[str, Any]:
    """The account the API token belongs to."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role.value,
    }
