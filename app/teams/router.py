"""Team actions from the account page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.dependencies import SignedIn
from app.auth.router import account_page
from app.core.csrf import verify_csrf
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.teams import service as teams

pages = APIRouter(prefix="/account/team", dependencies=[Depends(verify_csrf)])
Text = Annotated[str, Form()]


@pages.post("")
def create(request: Request, session: SessionDep, user: SignedIn, name: Text) -> Response:
    try:
        teams.create_team(session, user, name)
    except DomainError as exc:
        return account_page(request, session, user, exc.status_code, error=exc.message)
    return RedirectResponse("/account", status_code=303)


@pages.post("/join")
def join(request: Request, session: SessionDep, user: SignedIn, invite_code: Text) -> Response:
    try:
        teams.join_team(session, user, invite_code)
    except DomainError as exc:
        return account_page(request, session, user, exc.status_code, error=exc.message)
    return RedirectResponse("/account", status_code=303)


@pages.post("/leave")
def leave(session: SessionDep, user: SignedIn) -> Response:
    teams.leave_team(session, user)
    return RedirectResponse("/account", status_code=303)
