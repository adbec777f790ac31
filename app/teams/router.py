"""Team actions from the account page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.dependencies import SignedIn
from app.auth.router import account_page
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.models.user import User
from app.teams import service as teams

pages = APIRouter(prefix="/account/team", dependencies=CSRF_CHECKED)
Text = Annotated[str, Form()]


def _then_account(
    request: Request, session: SessionDep, user: User, action: Callable[[], object]
) -> Response:
    """Do `action`, then show the account page: redirected on success, with the error if not."""
    try:
        action()
    except DomainError as exc:
        return account_page(request, session, user, exc.status_code, error=exc.message)
    return RedirectResponse("/account", status_code=303)


@pages.post("")
def create(request: Request, session: SessionDep, user: SignedIn, name: Text) -> Response:
    return _then_account(request, session, user, lambda: teams.create_team(session, user, name))


@pages.post("/join")
def join(request: Request, session: SessionDep, user: SignedIn, invite_code: Text) -> Response:
    return _then_account(
        request, session, user, lambda: teams.join_team(session, user, invite_code)
    )


@pages.post("/leave")
def leave(session: SessionDep, user: SignedIn) -> Response:
    teams.leave_team(session, user)
    return RedirectResponse("/account", status_code=303)
