"""Organizers' page and API to turn a competition into a living benchmark after the reveal,
record when the labels were published, and set entries' verification levels (organizers
only; 403 for anyone else, a sign-in for anonymous visitors of the page). Each is audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.admin.dependencies import API_PATH, ORGANIZER_FORM, PAGES_PATH
from app.benchmark import service
from app.benchmark.schemas import BenchmarkOut, LabelsIn, OpenIn, VerificationIn, board_out
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer, TrackDep
from app.competitions.registrations import tracks_of
from app.competitions.visibility import benchmark_phase
from app.core.db import SessionDep
from app.core.errors import DomainError, Invalid
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS, problems
from app.core.templating import templates
from app.models.competition import Competition
from app.models.submission import Verification
from app.models.user import User

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)
NOT_REVEALED = problems(409, _409="not revealed yet, or a benchmark already")


def _state(session: Session, competition: Competition) -> dict[str, Any]:
    phase = benchmark_phase(session, competition)
    return {
        "benchmark": phase is not None,
        "opened_at": phase.starts_at if phase else None,
        "split": service.benchmark_split(session, competition) if phase else None,
        "max_per_day": phase.max_per_day if phase else None,
        "labels_published_at": competition.labels_published_at,
    }


@api.get("/benchmark")
def benchmark_api(session: SessionDep, competition: CompetitionDep, _: ApiOrganizer) -> Any:
    """Whether the competition is a benchmark, since when, on which split, and when the
    labels were published."""
    return _state(session, competition)


@api.post("/benchmark", responses={**BODY_ERRORS, **NOT_REVEALED})
def open_api(
    body: OpenIn, session: SessionDep, competition: CompetitionDep, user: ApiOrganizer
) -> Any:
    """Turn the competition into a living benchmark: 409 before the reveal or when it is one
    already. The phases still taking uploads close; anyone who accepts the terms may submit."""
    service.open_benchmark(session, competition, user, body.max_per_day)
    return _state(session, competition)


@api.put("/benchmark/labels-published", responses=BODY_ERRORS)
def labels_api(
    body: LabelsIn, session: SessionDep, competition: CompetitionDep, user: ApiOrganizer
) -> Any:
    """Record when the labels were published (null: not published); benchmark rows
    submitted since are marked."""
    service.set_labels_published(session, competition, user, body.published_at)
    return _state(session, competition)


@api.put(
    "/benchmark/submissions/{submission_id}/verification",
    responses={**BODY_ERRORS, **problems(404, _404="no such submission in this competition")},
)
def verification_api(
    submission_id: int,
    body: VerificationIn,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiOrganizer,
) -> Any:
    """Set an entry's verification level: self_reported, rerun or verified."""
    submission = service.set_verification(session, competition, user, submission_id, body.level)
    return {"submission_id": submission.id, "verification": submission.verification.value}


@api.get("/benchmark/tracks/{track}", response_model=BenchmarkOut)
def board_api(
    session: SessionDep, competition: CompetitionDep, track: TrackDep, _: ApiOrganizer
) -> Any:
    """A track's benchmark board, as everyone sees it."""
    board = service.board(session, competition, track)
    return board_out(competition.slug, board, competition.labels_published_at)


def _context(session: Session, competition: Competition, user: User) -> dict[str, Any]:
    phase = benchmark_phase(session, competition)
    shown = phase is not None and competition.revealed_at is not None
    tracks = tracks_of(session, competition) if shown else []
    return {
        "competition": competition,
        "user": user,
        "phase": phase,
        "revealed": competition.revealed_at is not None,
        "boards": [service.board(session, competition, t) for t in tracks],
        "levels": service.LEVELS,
        "max_per_day": service.MAX_PER_DAY,
        "split": service.benchmark_split(session, competition),
    }


@pages.get("/benchmark")
def benchmark_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    context = _context(session, competition, user)
    return templates.TemplateResponse(request, "admin/benchmark.html", context)


def _refused(
    request: Request, session: Session, competition: Competition, user: User, exc: DomainError
) -> Response:
    session.rollback()
    context = _context(session, competition, user)
    return refused(request, session, "admin/benchmark.html", exc, **context)


@pages.post("/benchmark/open", dependencies=ORGANIZER_FORM)
def open_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    max_per_day: Annotated[int, Form(ge=1, le=100)] = service.MAX_PER_DAY,
) -> Response:
    """Turn the competition into a living benchmark (the page asked to confirm)."""
    try:
        service.open_benchmark(session, competition, user, max_per_day)
    except DomainError as exc:
        return _refused(request, session, competition, user, exc)
    notice = f"{competition.title} is a benchmark: anyone who accepts the terms may submit."
    return done(request, f"/competitions/{competition.slug}/admin/benchmark", notice)


@pages.post("/benchmark/labels", dependencies=ORGANIZER_FORM)
def labels_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    published_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Record the date the labels were published (empty: not published)."""
    try:
        service.set_labels_published(session, competition, user, _date(published_on))
    except DomainError as exc:
        return _refused(request, session, competition, user, exc)
    notice = "Labels' publication date saved." if published_on else "Labels marked unpublished."
    return done(request, f"/competitions/{competition.slug}/admin/benchmark", notice)


def _date(text: str) -> datetime | None:
    """A YYYY-MM-DD date from the form, as midnight UTC; None for an empty field."""
    if not text.strip():
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("published on: give a date as YYYY-MM-DD, e.g. 2026-12-01") from None


@pages.post("/benchmark/verification", dependencies=ORGANIZER_FORM)
def verification_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    submission_id: Annotated[int, Form()],
    level: Annotated[Verification, Form()],
) -> Response:
    """Set one entry's verification level."""
    try:
        service.set_verification(session, competition, user, submission_id, level)
    except DomainError as exc:
        return _refused(request, session, competition, user, exc)
    notice = f"Submission {submission_id}: {service.LEVELS[level]}."
    return done(request, f"/competitions/{competition.slug}/admin/benchmark", notice)
