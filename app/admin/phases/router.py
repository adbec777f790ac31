"""Organizers' page and API for a competition's phases: dates, limits, policy, pinning and
the Ladder; open and close now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.admin.dependencies import API_PATH, PAGES_PATH
from app.admin.phases import service
from app.admin.phases.schemas import PhaseIn, PhaseOut
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.competitions.phases import state_of
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError, Invalid
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS
from app.core.templating import templates
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import LeaderboardPolicy, Phase
from app.models.user import User

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)


def _out(phase: Phase) -> PhaseOut:
    return PhaseOut.model_validate(phase, from_attributes=True)


@api.get("/phases", response_model=list[PhaseOut])
def phases_api(session: SessionDep, competition: CompetitionDep, _: ApiOrganizer) -> Any:
    """The competition's phases."""
    return [_out(p) for p in service.phases_of(session, competition)]


@api.post("/phases/{phase_id}", response_model=PhaseOut, responses=BODY_ERRORS)
def change_api(
    phase_id: int,
    body: PhaseIn,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiOrganizer,
) -> Any:
    """Change a phase's dates (UTC), limits, leaderboard policy, pinning or Ladder; the
    fields left out stay as they are."""
    phase = service.phase_of(session, competition, phase_id)
    return _out(service.change_phase(session, competition, user, phase, body))


@api.post("/phases/{phase_id}/{action}", response_model=PhaseOut)
def open_close_api(
    phase_id: int,
    action: str,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiOrganizer,
) -> Any:
    """`open` starts the phase now and ends the running one; `close` ends it now."""
    phase = service.phase_of(session, competition, phase_id)
    return _out(_open_or_close(session, competition, user, phase, action))


def _open_or_close(
    session: SessionDep, competition: Competition, user: User, phase: Phase, action: str
) -> Phase:
    if action == "open":
        return service.open_now(session, competition, user, phase)
    if action == "close":
        return service.close_now(session, competition, user, phase)
    raise Invalid(f"'{action[:40]}' is not an action on a phase: open or close")


def _context(session: SessionDep, competition: Competition, user: User) -> dict[str, Any]:
    """The phases in the order they were made, each with its state now (which decides the
    actions offered: open what is scheduled or closed, close what runs)."""
    found = service.phases_of(session, competition)
    now = utcnow()
    return {
        "competition": competition,
        "user": user,
        "phases": found,
        "states": {phase.id: state_of(phase, now).value for phase in found},
    }


@pages.get("/phases")
def phases_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    return templates.TemplateResponse(
        request, "admin/phases.html", _context(session, competition, user)
    )


@pages.post("/phases/{phase_id}", dependencies=CSRF_CHECKED)
def change_page(
    request: Request,
    phase_id: int,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
    accepts_uploads: Annotated[bool, Form()] = False,
    max_per_day: Annotated[str, Form(max_length=20)] = "0",
    max_total: Annotated[str, Form(max_length=20)] = "0",
    leaderboard_policy: Annotated[str, Form(max_length=20)] = LeaderboardPolicy.LATEST.value,
    allow_pinning: Annotated[bool, Form()] = False,
    ladder_eta: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The phase form sets every setting it shows: an empty date is "not set" (not started,
    or no end), an unticked box is off, an empty Ladder step is exact scores."""
    form = {
        "starts_at": starts_at,
        "ends_at": ends_at,
        "accepts_uploads": accepts_uploads,
        "max_per_day": max_per_day,
        "max_total": max_total,
        "leaderboard_policy": leaderboard_policy,
        "allow_pinning": allow_pinning,
        "ladder_eta": ladder_eta,
    }
    try:
        phase = service.phase_of(session, competition, phase_id)
        service.change_phase(session, competition, user, phase, phase_form(form))
    except DomainError as exc:
        return refused(
            request, session, "admin/phases.html", exc, **_context(session, competition, user)
        )
    return done(
        request,
        f"/competitions/{competition.slug}/admin/phases#phase-{phase.id}",
        f"{phase.name} saved: {_summary(phase)}.",
    )


def phase_form(form: dict[str, Any]) -> PhaseIn:
    """The form's fields as the API's input, empty text as null; Invalid naming each field
    that is wrong and what it takes."""
    given = {k: v.strip() if isinstance(v, str) else v for k, v in form.items()}
    for optional in ("starts_at", "ends_at", "ladder_eta"):  # empty: not set
        given[optional] = given.get(optional) or None
    try:
        return PhaseIn.model_validate(given)
    except ValidationError as exc:
        found = [_problem(e["loc"], e["input"]) for e in exc.errors()]
        raise Invalid("nothing was saved: " + "; ".join(found), errors=found) from None


DATE = "a date: write 2026-12-01 12:00 (UTC), or leave it empty"
COUNT = "a whole number from 0 to 1,000,000"
RULES = {
    "starts_at": ("Starts", DATE),
    "ends_at": ("Ends", DATE),
    "max_per_day": ("Per day", COUNT),
    "max_total": ("In all", COUNT),
    "leaderboard_policy": ("Ranked submission", "latest or best"),
    "ladder_eta": ("Ladder step", "a number above 0, at most 0.5 (e.g. 0.01); empty: exact"),
}


def _problem(loc: tuple[int | str, ...], value: Any) -> str:
    name = str(loc[0]) if loc else ""
    title, rule = RULES.get(name, (name, "a valid value"))
    return f"{title}: '{str(value)[:40]}' is not {rule}"


def _summary(phase: Phase) -> str:
    ladder = f"Ladder step {phase.ladder_eta:g}" if phase.ladder_eta else "exact scores"
    uploads = "takes uploads" if phase.accepts_uploads else "takes no uploads"
    pinning = "pinning allowed" if phase.allow_pinning else "no pinning"
    return (
        f"{uploads}, {phase.max_per_day} a day, {phase.max_total} in all, "
        f"{phase.leaderboard_policy.value} ranked, {pinning}, {ladder}"
    )


@pages.post("/phases/{phase_id}/{action}", dependencies=CSRF_CHECKED)
def open_close_page(
    request: Request,
    phase_id: int,
    action: str,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
) -> Response:
    """Open or close a phase now."""
    try:
        phase = service.phase_of(session, competition, phase_id)
        _open_or_close(session, competition, user, phase, action)
    except DomainError as exc:
        return refused(
            request, session, "admin/phases.html", exc, **_context(session, competition, user)
        )
    what = "opened: it runs from now" if action == "open" else "closed: it takes no more uploads"
    return done(request, f"/competitions/{competition.slug}/admin/phases", f"{phase.name} {what}.")
