"""The account page and its forms: password, API tokens, and the user's team (create, join,
leave). The team forms are here, not in app.teams, so that imports go one way: auth uses the
teams service, and teams imports nothing of auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth import links
from app.auth import service as auth
from app.auth.dependencies import SignedIn
from app.core.config import Settings
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.forms import done, refused
from app.core.templating import templates
from app.models.user import User
from app.teams import service as teams

pages = APIRouter(prefix="/account")
Text = Annotated[str, Form()]
ACCOUNT = "auth/account.html"
NEW_TOKEN = "new_token"  # the session key keeping a new token for the next account page only


def _context(session: Session, user: User) -> dict[str, Any]:
    """What the account page shows: tokens, team, and the forms."""
    team = teams.team_of(session, user)
    return {
        "user": user,
        "tokens": auth.tokens_of(session, user),
        "team": team,
        "team_members": teams.members(session, team) if team else [],
    }


def _form(
    request: Request, session: Session, user: User, action: Callable[[], str], url: str
) -> Response:
    """Do `action` (it says what it did), then the account page: redirected there with its
    notice, or the page again with the error and nothing stored."""
    try:
        message = action()
    except DomainError as exc:
        session.rollback()  # before reading the page's rows: none of what was refused shows
        return refused(request, session, ACCOUNT, exc, **_context(session, user))
    return done(request, url, message)


@pages.get("")
def account(request: Request, session: SessionDep, user: SignedIn) -> Response:
    # A new token is the user's own secret, kept in their signed cookie for this one page.
    new_token = request.session.pop(NEW_TOKEN, None)
    context = _context(session, user)
    if isinstance(new_token, list) and len(new_token) == 2:
        context["new_token_name"], context["new_token"] = new_token
    return templates.TemplateResponse(request, ACCOUNT, context)


@pages.post("/password", dependencies=CSRF_CHECKED)
def change_password(
    request: Request, session: SessionDep, user: SignedIn, current: Text, new: Text
) -> Response:
    def change() -> str:
        auth.change_password(session, user, current, new)
        request.session["epoch"] = user.session_epoch  # this browser stays signed in, no other
        return "Password changed: every other browser signed in to this account is signed out"

    return _form(request, session, user, change, "/account")


@pages.post("/notices", dependencies=CSRF_CHECKED)
def notices(
    request: Request, session: SessionDep, user: SignedIn, notices: Annotated[str, Form()] = ""
) -> Response:
    def change() -> str:
        user.notices = notices == "on"
        if user.notices:
            return (
                "Notices on: we mail you when a submission fails, a registration is decided, "
                "a phase opens or closes, and results are out"
            )
        return "Notices off: we mail you only what you ask for (a password reset)"

    return _form(request, session, user, change, "/account#notices")


@pages.post("/confirmation", dependencies=CSRF_CHECKED)
def send_confirmation(request: Request, session: SessionDep, user: SignedIn) -> Response:
    def send() -> str:
        if user.email_confirmed_at is not None:
            return f"{user.email} is confirmed already"
        settings: Settings = request.app.state.settings
        links.send_confirmation(session, user, settings.secret_key)
        return f"A new link is on its way to {user.email}"

    return _form(request, session, user, send, "/account")


@pages.post("/tokens", dependencies=CSRF_CHECKED)
def create_token(
    request: Request, session: SessionDep, user: SignedIn, name: Annotated[str, Form()] = ""
) -> Response:
    def create() -> str:
        row, token = auth.create_token(session, user, name.strip() or "api")
        request.session[NEW_TOKEN] = [row.name, token]
        return f"Token “{row.name}” created"

    return _form(request, session, user, create, "/account")


@pages.post("/tokens/{token_id}/revoke", dependencies=CSRF_CHECKED)
def revoke_token(request: Request, token_id: int, session: SessionDep, user: SignedIn) -> Response:
    def revoke() -> str:
        row = auth.revoke_token(session, user, token_id)
        return f"Token “{row.name}” revoked: scripts that send it are refused from now on"

    return _form(request, session, user, revoke, "/account")


@pages.post("/team", dependencies=CSRF_CHECKED)
def create_team(request: Request, session: SessionDep, user: SignedIn, name: Text) -> Response:
    def create() -> str:
        team = teams.create_team(session, user, name)
        return f"Team “{team.name}” created: give teammates its invite code"

    return _form(request, session, user, create, "/account#team")


@pages.post("/team/join", dependencies=CSRF_CHECKED)
def join_team(request: Request, session: SessionDep, user: SignedIn, invite_code: Text) -> Response:
    def join() -> str:
        team = teams.join_team(session, user, invite_code)
        return f"You joined the team “{team.name}”"

    return _form(request, session, user, join, "/account#team")


@pages.post("/team/leave", dependencies=CSRF_CHECKED)
def leave_team(request: Request, session: SessionDep, user: SignedIn) -> Response:
    def leave() -> str:
        name, removed = teams.leave_team(session, user)
        gone = ": you were its last member, so it is removed" if removed else ""
        return f"You left the team “{name}”{gone}"

    return _form(request, session, user, leave, "/account#team")
