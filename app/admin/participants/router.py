"""Organizers' page and API for a competition's participants: every registration, approve,
reject, ban, unban, and per-participant limits (organizers only; 403 for anyone else, a
sign-in for anonymous visitors of the page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.admin.dependencies import API_PATH, PAGES_PATH
from app.admin.paging import PageNumber, page_url
from app.admin.participants import service
from app.admin.participants.schemas import ParticipantOut, ParticipantPatch, participant_out
from app.admin.participants.service import Limits
from app.admin.phases.service import phases_of
from app.competitions import registrations
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError, Invalid
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS, STATUS_CONFLICT
from app.core.templating import templates
from app.models.registration import RegistrationStatus
from app.models.user import User

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)

ACTIONS = {
    "approve": RegistrationStatus.APPROVED,
    "reject": RegistrationStatus.REJECTED,
    "ban": RegistrationStatus.BANNED,
    "unban": RegistrationStatus.APPROVED,
}
Back = Annotated[str, Form(max_length=300, description="the list's address to come back to")]
Search = Annotated[
    str | None, Query(max_length=64, description="a piece of the name, email or team name")
]


@api.get("/participants", response_model=list[ParticipantOut])
def participants_api(
    session: SessionDep,
    competition: CompetitionDep,
    _: ApiOrganizer,
    status: RegistrationStatus | None = None,
    search: Search = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """The competition's registrations, oldest first, filtered by status and a piece of the
    name, email or team name."""
    rows = service.participants(
        session, competition, status=status, search=search, limit=limit, offset=offset
    )
    return [participant_out(r) for r in rows]


@api.patch(
    "/participants/{user_id}",
    response_model=ParticipantOut,
    responses={**BODY_ERRORS, **STATUS_CONFLICT},
)
def change_api(
    user_id: int,
    body: ParticipantPatch,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiOrganizer,
) -> Any:
    """Approve, reject, ban or unban a participant, and set or clear their own limits."""
    registration = service.registration_in(session, competition, user_id)
    if body.status is not None:
        registrations.change_status(session, competition, user, registration, body.status)
    if {"max_per_day", "max_total"} & body.model_fields_set:
        limits = Limits(
            max_per_day=_given(body, "max_per_day", registration.max_per_day),
            max_total=_given(body, "max_total", registration.max_total),
        )
        service.set_limits(session, competition, user, registration, limits)
    (row,) = service.participants(session, competition, user_id=user_id)
    return participant_out(row)


def _given(body: ParticipantPatch, name: str, current: int | None) -> int | None:
    """The body's value (null included) when the field was sent, the current one otherwise."""
    value: int | None = getattr(body, name)
    return value if name in body.model_fields_set else current


def _context(
    session: SessionDep,
    competition: CompetitionDep,
    user: User,
    *,
    status: str = "",
    search: str = "",
    number: int = 1,
) -> dict[str, Any]:
    chosen = RegistrationStatus(status) if status in {s.value for s in RegistrationStatus} else None
    return {
        "competition": competition,
        "user": user,
        "page": service.participants_page(
            session, competition, number, status=chosen, search=search
        ),
        "path": f"/competitions/{competition.slug}/admin/participants",
        "page_url": page_url,
        "statuses": list(RegistrationStatus),
        "filters": {"status": status, "search": search},
        "phases": phases_of(session, competition),
    }


@pages.get("/participants")
def participants_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    status: Annotated[str, Query(max_length=16)] = "",
    search: Annotated[str, Query(max_length=64)] = "",
    page: PageNumber = 1,
) -> Response:
    context = _context(session, competition, user, status=status, search=search, number=page)
    return templates.TemplateResponse(request, "admin/participants.html", context)


@pages.post("/participants/{user_id}/limits", dependencies=CSRF_CHECKED)
def limits_page(
    request: Request,
    user_id: int,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    max_per_day: Annotated[str, Form(max_length=20)] = "",
    max_total: Annotated[str, Form(max_length=20)] = "",
    back: Back = "",
) -> Response:
    """The limits form: an empty field gives the phase's limit back."""
    try:
        registration = service.registration_in(session, competition, user_id)
        limits = Limits(_number(max_per_day, "per day"), _number(max_total, "in all"))
        service.set_limits(session, competition, user, registration, limits)
    except DomainError as exc:
        return _refused(request, session, competition, user, exc)
    name = session.get_one(User, user_id).display_name
    message = f"{name}'s limits saved: {_limits(limits)}."
    return _back(request, competition.slug, user_id, message, back)


def _limits(limits: Limits) -> str:
    day = "the phase's" if limits.max_per_day is None else f"{limits.max_per_day}"
    total = "the phase's" if limits.max_total is None else f"{limits.max_total}"
    return f"{day} a day, {total} in all"


DONE = {
    "approve": "{name} is approved: they may upload.",
    "reject": "{name}'s registration is rejected.",
    "ban": "{name} is banned: their submissions left every leaderboard, and they cannot upload.",
    "unban": "{name} is unbanned: their submissions are ranked again.",
}


@pages.post("/participants/{user_id}/{action}", dependencies=CSRF_CHECKED)
def action_page(
    request: Request,
    user_id: int,
    action: str,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    back: Back = "",
) -> Response:
    """Approve, reject, ban or unban one participant."""
    try:
        if action not in ACTIONS:
            raise Invalid(f"'{action[:40]}' is not an action: approve, reject, ban or unban")
        registration = service.registration_in(session, competition, user_id)
        if action == "unban" and registration.status is not RegistrationStatus.BANNED:
            raise Invalid("this participant is not banned")
        registrations.change_status(session, competition, user, registration, ACTIONS[action])
    except DomainError as exc:
        return _refused(request, session, competition, user, exc)
    name = session.get_one(User, user_id).display_name
    return _back(request, competition.slug, user_id, DONE[action].format(name=name), back)


def _refused(
    request: Request, session: SessionDep, competition: CompetitionDep, user: User, exc: DomainError
) -> Response:
    context = _context(session, competition, user)
    return refused(request, session, "admin/participants.html", exc, **context)


def _back(request: Request, slug: str, user_id: int, message: str, back: str) -> Response:
    """The list again, at the participant's row, on the page and with the filters the form
    was sent from (`back`, when it is an address of this list)."""
    listing = f"/competitions/{slug}/admin/participants"
    here = back if back == listing or back.startswith(f"{listing}?") else listing
    return done(request, f"{here}#user-{user_id}", message)


def _number(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise Invalid(f"'{text[:20]}' is not a number: the limit {what}, or empty for the phase's")
    return int(text)
