"""A competition's page, registration (browser and API) and organizers' decisions on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.auth.dependencies import ApiUser, MaybeUser, SignedIn
from app.competitions import registrations, service
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.competitions.tabs import TABS
from app.competitions.tabs import page_context as _context
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS, STATUS_CONFLICT, problems
from app.core.templating import templates
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.registration import Registration, RegistrationStatus
from app.models.user import User

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["registration"], responses=problems(401, 403, 404, 422))


@pages.get("/")
def index(request: Request, session: SessionDep, user: MaybeUser) -> Response:
    """The home page: every competition on this server, its phase, deadline and numbers."""
    return templates.TemplateResponse(
        request,
        "competitions/index.html",
        {"user": user, "summaries": service.summaries(session, utcnow())},
    )


def _tab_page(template: str) -> Callable[..., Response]:
    def show(
        request: Request, session: SessionDep, competition: CompetitionDep, user: MaybeUser
    ) -> Response:
        return templates.TemplateResponse(
            request, "competitions/show.html", _context(session, competition, user, template)
        )

    show.__doc__ = f"A competition's {template} tab."
    return show


for _path, _title, _template in TABS:
    pages.add_api_route(f"/competitions/{{slug}}{_path}", _tab_page(_template), methods=["GET"])


@pages.get("/competitions/{slug}/admin")
def admin_tab(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    """The organizers' tab: links to every admin page, registrations waiting."""
    return templates.TemplateResponse(
        request, "competitions/show.html", _context(session, competition, user, "admin")
    )


@pages.post("/competitions/{slug}/register", dependencies=CSRF_CHECKED)
def register(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: SignedIn,
    accept_terms: Annotated[bool, Form()] = False,
    terms_sha256: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    try:
        registration, created = registrations.register(
            session, competition, user, accept_terms=accept_terms, terms_sha256=terms_sha256
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
    terms_sha256: str | None = Field(
        None,
        max_length=64,
        description="the version of the terms read (the SHA-256 of their text); "
        "409 when the terms changed since",
    )


class RegistrationOut(BaseModel):
    """Where the caller's registration stands."""

    competition: str
    status: RegistrationStatus
    terms_sha256: str | None = Field(
        description="the version of the terms accepted; null for registrations made before "
        "versions were kept"
    )


@api.post(
    "/competitions/{slug}/registration",
    status_code=201,
    response_model=RegistrationOut,
    responses={
        200: {"model": RegistrationOut, "description": "already registered: where it stands"},
        **BODY_ERRORS,
        **problems(409, _409="`terms_sha256` names terms that have changed since: read them again"),
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
        session, competition, user, accept_terms=body.accept_terms, terms_sha256=body.terms_sha256
    )
    if not created:
        response.status_code = 200
    return _registration_out(competition, registration)


def _registration_out(competition: Competition, registration: Registration) -> RegistrationOut:
    return RegistrationOut(
        competition=competition.slug,
        status=registration.status,
        terms_sha256=registration.terms_sha256,
    )


class RegistrationRow(BaseModel):
    """A registration as organizers see it."""

    id: int
    display_name: str
    email: str
    status: RegistrationStatus


class Decision(BaseModel):
    """An organizer's decision on a registration."""

    status: RegistrationStatus


@api.get("/competitions/{slug}/definition")
def definition_api(competition: CompetitionDep) -> dict[str, Any]:
    """How the competition's submissions are read and scored, as a version 2 definition
    (tracks, splits, files, metrics, phases; public: no labels). `mia-arena validate
    --server URL --competition SLUG` checks a zip with it before anything is sent."""
    return service.definition_of(competition).to_dict()


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
    return _registration_out(competition, registration)
