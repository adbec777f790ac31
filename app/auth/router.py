"""Account pages (register, sign in and out, password, API tokens) and the API's /me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import service as auth
from app.auth.dependencies import ApiUser, MaybeUser, SignedIn
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.openapi import problems
from app.core.templating import templates
from app.models.user import Role, User
from app.teams import service as teams

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["account"], responses=problems(401))
Text = Annotated[str, Form()]


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _sign_in(request: Request, user: User) -> RedirectResponse:
    """Start a fresh session for `user` (a new CSRF token too) and go to the account page."""
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["epoch"] = user.session_epoch
    return RedirectResponse("/account", status_code=303)


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
        return _page(
            request,
            "auth/register.html",
            exc.status_code,
            error=exc.message,
            email=email,
            display_name=display_name,
        )
    return _sign_in(request, user)


@pages.get("/login")
def login_form(request: Request, user: MaybeUser) -> Response:
    return _page(request, "auth/login.html", user=user)


@pages.post("/login", dependencies=CSRF_CHECKED)
def login(request: Request, session: SessionDep, email: Text, password: Text) -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        user = auth.authenticate(session, email, password, address)
    except DomainError as exc:  # returned, not raised: the failed attempt must be committed
        return _page(request, "auth/login.html", exc.status_code, error=exc.message, email=email)
    return _sign_in(request, user)


@pages.post("/logout", dependencies=CSRF_CHECKED)
def logout(request: Request, user: MaybeUser) -> Response:
    if user is not None:
        user.session_epoch += 1  # every copy of this user's cookies stops working
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def account_page(
    request: Request, session: SessionDep, user: User, status: int = 200, **extra: Any
) -> HTMLResponse:
    """The account page: tokens, team, password form, and what the last action said."""
    team = teams.team_of(session, user)
    return _page(
        request,
        "auth/account.html",
        status,
        user=user,
        tokens=auth.tokens_of(session, user),
        team=team,
        team_members=teams.members(session, team) if team else [],
        **extra,
    )


@pages.get("/account")
def account(request: Request, session: SessionDep, user: SignedIn) -> Response:
    return account_page(request, session, user)


@pages.post("/account/password", dependencies=CSRF_CHECKED)
def change_password(
    request: Request, session: SessionDep, user: SignedIn, current: Text, new: Text
) -> Response:
    try:
        auth.change_password(session, user, current, new)
    except DomainError as exc:
        return account_page(request, session, user, exc.status_code, error=exc.message)
    request.session["epoch"] = user.session_epoch  # this browser stays signed in, no other
    return account_page(request, session, user, notice="password changed")


@pages.post("/account/tokens", dependencies=CSRF_CHECKED)
def create_token(
    request: Request, session: SessionDep, user: SignedIn, name: Annotated[str, Form()] = ""
) -> Response:
    try:
        row, token = auth.create_token(session, user, name.strip() or "api")
    except DomainError as exc:
        return account_page(request, session, user, exc.status_code, error=exc.message)
    return account_page(request, session, user, 201, new_token=token, new_token_name=row.name)


@pages.post("/account/tokens/{token_id}/revoke", dependencies=CSRF_CHECKED)
def revoke_token(token_id: int, session: SessionDep, user: SignedIn) -> Response:
    auth.revoke_token(session, user, token_id)
    return RedirectResponse("/account", status_code=303)


@api.get("/me")
def me(user: ApiUser) -> dict[str, Any]:
    """The account the API token belongs to."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role.value,
    }
