"""Signing up, in and out, and the API's /me. The account page is in account_router.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import links
from app.auth import service as auth
from app.auth.dependencies import ApiUser, MaybeUser
from app.core.config import Settings
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
    settings = _settings(request)
    message = f"Account created: you are signed in as {user.display_name}"
    if settings.email_confirmation:
        user.email_confirmed_at = None
        links.send_confirmation(session, user, settings.secret_key)
        message += (
            f". We sent a link to {user.email}: follow it to confirm the address, then you "
            "can register for competitions and upload"
        )
    return _sign_in(request, user, message)


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


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


FORGOT = "auth/forgot.html"
RESET = "auth/reset.html"


@pages.get("/forgot")
def forgot_form(request: Request, user: MaybeUser) -> Response:
    return _page(request, FORGOT, user=user)


@pages.post("/forgot", dependencies=CSRF_CHECKED)
def forgot(request: Request, session: SessionDep, email: Text) -> Response:
    """The same answer whether an account has this address or not (no account enumeration)."""
    settings = _settings(request)
    links.request_reset(session, email, settings.secret_key, settings.password_reset_seconds)
    return done(
        request,
        "/login",
        f"If an account has the address {email.strip()}, a link to choose a new password is on "
        "its way to it; look in the spam folder too if it does not arrive",
    )


@pages.get("/reset/{token}")
def reset_form(request: Request, session: SessionDep, token: str, user: MaybeUser) -> Response:
    settings = _settings(request)
    try:
        account = links.user_for_reset(
            session, token, settings.secret_key, settings.password_reset_seconds
        )
    except links.DeadLink as exc:
        return templates.TemplateResponse(
            request, RESET, {"dead": exc.message, "user": user}, exc.status_code
        )
    return _page(request, RESET, user=user, account=account, token=token)


@pages.post("/reset/{token}", dependencies=CSRF_CHECKED)
def reset(request: Request, session: SessionDep, token: str, new: Text) -> Response:
    settings = _settings(request)
    try:
        account = links.reset_password(
            session, token, new, settings.secret_key, settings.password_reset_seconds
        )
    except links.DeadLink as exc:
        session.rollback()
        return templates.TemplateResponse(request, RESET, {"dead": exc.message}, exc.status_code)
    except DomainError as exc:
        session.rollback()
        account = links.user_for_reset(
            session, token, settings.secret_key, settings.password_reset_seconds
        )
        return refused(request, session, RESET, exc, account=account, token=token)
    return _sign_in(
        request,
        account,
        "Password set: you are signed in, and every other browser signed in to this account "
        "is signed out",
    )


@pages.get("/confirm/{token}")
def confirm(request: Request, session: SessionDep, token: str, user: MaybeUser) -> Response:
    try:
        account = links.confirm_email(session, token, _settings(request).secret_key)
    except links.DeadLink as exc:
        return templates.TemplateResponse(
            request, "auth/confirmed.html", {"dead": exc.message, "user": user}, exc.status_code
        )
    where = "/account" if user is not None else "/login"
    return done(request, where, f"Thank you: {account.email} is confirmed")


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
