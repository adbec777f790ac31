"""A competition's page, registration (browser and API) and organizers' decisions on it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.auth.dependencies import ApiUser, MaybeUser, SignedIn
from app.competitions import registrations
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS, STATUS_CONFLICT, problems
from app.core.templating import templates
from app.models.competition import Competition
from app.models.registration import Registration, RegistrationStatus
from app.models.user import User

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["registration"], responses=problems(401, 403, 404, 422))


def _context(session: Session, competition: Competition, user: User | None) -> dict[str, Any]:
    """What a competition's page shows this user: pages, tracks, registration, organizers'."""
    registration = registrations.registration_of(session, competition, user) if user else None
    organizer = registrations.organizes(session, competition, user)
    return {
        "competition": competition,
        "tracks": registrations.tracks_of(session, competition),
        "user": user,
        "registration": registration,
        "waiting": registrations.pending(session, competition) if organizer else [],
        "organizer": organizer,
    }


@pages.get("/")
def index(request: Request, session: SessionDep, user: MaybeUser) -> Response:
    """The home page: every competition on this server."""
    return templates.TemplateResponse(
        request,
        "competitions/index.html",
        {"user": user, "competitions": registrations.all_competitions(session)},
    )


@pages.get("/competitions/{slug}")
def show(
    request: Request, session: SessionDep, competition: CompetitionDep, user: MaybeUser
) -> Response:
    return templates.TemplateResponse(
        request, "competitions/show.html", _context(session, competition, user)
    )


@pages.post("/competitions/{slug}/register", dependencies=CSRF_CHECKED)
def register(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: SignedIn,
    accept_terms: Annotated[bool, Form()] = False,
) -> Response:
    try:
        registration, created = registrations.register(
            session, competition, user, accept_terms=accept_terms
        )
    except DomainError as exc:
        session.rollback()  # before reading the page's rows: none of what was refused shows
        context = _context(session, competition, user)
        return refused(request, session, "competitions/show.html", exc, **context)
    return done(request, f"/competitions/{competition.slug}", _registered(registration, created))


def _registered(registration: Registration, created: bool) -> str:
    """What registering did, and the participant's next step."""
    if not created:
        return "You were registered already: nothing changed"
    if registration.status is RegistrationStatus.PENDING:
        return "Registered: an organizer approves your registration before you can submit"
    return "Registered: you may submit now"


@pages.post(
    "/competitions/{slug}/registrations/{registration_id}/{decision}", dependencies=CSRF_CHECKED
)
def decide(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    registration_id: int,
    decision: RegistrationStatus,
) -> Response:
    registration = registrations.registration_by_id(session, competition, registration_id)
    registrations.change_status(session, competition, user, registration, decision)
    person = session.get_one(User, registration.user_id).display_name
    message = f"The registration of {person} is {decision.value} now"
    return done(request, f"/competitions/{competition.slug}", message)


class RegistrationIn(BaseModel):
    """Registering from a script: the terms must be accepted explicitly."""

    accept_terms: bool


class RegistrationOut(BaseModel):
    """Where the caller's registration stands."""

    competition: str
    status: RegistrationStatus


@api.post(
    "/competitions/{slug}/registration",
    status_code=201,
    response_model=RegistrationOut,
    responses={
        200: {"model": RegistrationOut, "description": "already registered: where it stands"},
        **BODY_ERRORS,
    },
)
def register_api(
    body: RegistrationIn,
    response: Response,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiUser,
) -> RegistrationOut:
    """Register to a competition; 200 with the standing registration when already registered."""
    registration, created = registrations.register(
        session, competition, user, accept_terms=body.accept_terms
    )
    if not created:
        response.status_code = 200
    return RegistrationOut(competition=competition.slug, status=registration.status)


class RegistrationRow(BaseModel):
    """A registration as organizers see it."""

    id: int
    display_name: str
    email: str
    status: RegistrationStatus


class Decision(BaseModel):
    """An organizer's decision on a registration."""

    status: RegistrationStatus


@api.get("/competitions/{slug}/registrations", response_model=list[RegistrationRow])
def pending_api(
    session: SessionDep, competition: CompetitionDep, _: ApiOrganizer
) -> list[RegistrationRow]:
    """Registrations waiting for approval (organizers only; 403 for anyone else)."""
    return [
        RegistrationRow(id=r.id, display_name=u.display_name, email=u.email, status=r.status)
        for r, u in registrations.pending(session, competition)
    ]


@api.post(
    "/competitions/{slug}/registrations/{registration_id}",
    response_model=RegistrationOut,
    responses={**BODY_ERRORS, **STATUS_CONFLICT},
)
def decide_api(
    registration_id: int,
    body: Decision,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiOrganizer,
) -> RegistrationOut:
    """Approve, reject or ban a registration (organizers only)."""
    registration = registrations.registration_by_id(session, competition, registration_id)
    registrations.change_status(session, competition, user, registration, body.status)
    return RegistrationOut(competition=competition.slug, status=registration.status)
