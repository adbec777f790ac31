"""Organizers' pages and API for a competition's phases and submissions (organizers only;
403 for anyone else, a sign-in for anonymous visitors of the pages)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from app.admin import service
from app.admin.service import PhaseChange
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.competitions.registrations import tracks_of
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.downloads import attachment, csv_download, spreadsheet_safe
from app.core.errors import DomainError, Invalid
from app.core.openapi import BODY_ERRORS, ORGANIZER_ERRORS, with_csv
from app.core.templating import templates
from app.leaderboard.service import splits_of
from app.models.phase import LeaderboardPolicy, Phase
from app.models.submission import SubmissionStatus
from app.models.track import Track
from app.models.user import User
from app.submissions.dependencies import TrackDep

pages = APIRouter(prefix="/competitions/{slug}/admin")
api = APIRouter(
    prefix="/api/v1/admin/competitions/{slug}", tags=["admin"], responses=ORGANIZER_ERRORS
)


class PhaseOut(BaseModel):
    """A phase as organizers see it."""

    id: int
    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    accepts_uploads: bool
    scored_splits: list[str]
    shown_splits: list[str]
    max_per_day: int
    max_total: int
    leaderboard_policy: LeaderboardPolicy
    allow_pinning: bool
    ladder_eta: float | None


class PhaseIn(BaseModel):
    """Settings to change; the ones left out stay as they are."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    no_end: bool = Field(False, description="remove the phase's end date")
    accepts_uploads: bool | None = None
    max_per_day: int | None = Field(None, ge=0, le=1_000_000)
    max_total: int | None = Field(None, ge=0, le=1_000_000)
    leaderboard_policy: LeaderboardPolicy | None = None
    allow_pinning: bool | None = None
    ladder_eta: float | None = Field(None, gt=0, le=0.5, description="turn the Ladder on")
    exact_scores: bool = Field(False, description="turn the Ladder off")


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
    """Change a phase's dates (UTC), limits or leaderboard policy."""
    phase = service.phase_of(session, competition, phase_id)
    change = PhaseChange(
        starts_at=_utc(body.starts_at),
        ends_at=_utc(body.ends_at),
        clear_end=body.no_end,
        accepts_uploads=body.accepts_uploads,
        max_per_day=body.max_per_day,
        max_total=body.max_total,
        leaderboard_policy=body.leaderboard_policy,
    )
    return _out(service.change_phase(session, competition, user, phase, change))


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
    session: SessionDep, competition: CompetitionDep, user: User, phase: Phase, action: str
) -> Phase:
    if action == "open":
        return service.open_now(session, competition, user, phase)
    if action == "close":
        return service.close_now(session, competition, user, phase)
    raise Invalid(f"'{action}' is not an action on a phase: open or close")


def _utc(value: datetime | None) -> datetime | None:
    """Dates without a zone are taken as UTC, as the pages show them."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: User,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = {
        "competition": competition,
        "user": user,
        "phases": service.phases_of(session, competition),
        **extra,
    }
    return templates.TemplateResponse(request, "admin/phases.html", context, status_code=status)


@pages.get("/phases")
def phases_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    return _page(request, session, competition, user)


@pages.post("/phases/{phase_id}", dependencies=CSRF_CHECKED)
def change_page(
    request: Request,
    phase_id: int,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    starts_at: Annotated[str, Form()] = "",
    ends_at: Annotated[str, Form()] = "",
    accepts_uploads: Annotated[bool, Form()] = False,
    max_per_day: Annotated[int, Form(ge=0, le=1_000_000)] = 0,
    max_total: Annotated[int, Form(ge=0, le=1_000_000)] = 0,
    leaderboard_policy: Annotated[LeaderboardPolicy, Form()] = LeaderboardPolicy.LATEST,
    allow_pinning: Annotated[bool, Form()] = False,
    ladder_eta: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The phase form: empty dates mean "not set" (no start yet, or no end)."""
    try:
        phase = service.phase_of(session, competition, phase_id)
        change = PhaseChange(
            starts_at=_date(starts_at),
            ends_at=_date(ends_at),
            clear_end=not ends_at.strip(),
            accepts_uploads=accepts_uploads,
            max_per_day=max_per_day,
            max_total=max_total,
            leaderboard_policy=leaderboard_policy,
        )
        service.change_phase(session, competition, user, phase, change)
    except DomainError as exc:
        session.rollback()
        return _page(request, session, competition, user, exc.status_code, error=exc.message)
    return RedirectResponse(f"/competitions/{competition.slug}/admin/phases", status_code=303)


def _step(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(f"'{text}' is not a number: the Ladder's step, e.g. 0.01") from None


def _date(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        raise Invalid(f"'{text[:40]}' is not a date: write 2026-12-01 12:00 (UTC)") from None


@pages.post("/phases/{phase_id}/{action}", dependencies=CSRF_CHECKED)
def open_close_page(
    phase_id: int,
    action: str,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
) -> Response:
    phase = service.phase_of(session, competition, phase_id)
    _open_or_close(session, competition, user, phase, action)
    return RedirectResponse(f"/competitions/{competition.slug}/admin/phases", status_code=303)


class AdminSubmissionOut(BaseModel):
    """A submission as organizers see it: exact ranking scores of every split."""

    id: int
    participant: str
    track: str
    status: SubmissionStatus
    created_at: datetime
    rankings: dict[str, float]
    disqualified: str | None
    sha256: str


class Disqualification(BaseModel):
    """A reason the participant will see; null restores the submission."""

    reason: str | None = Field(None, max_length=500)


def _row_out(row: service.SubmissionRow) -> AdminSubmissionOut:
    s = row.submission
    return AdminSubmissionOut(
        id=s.id,
        participant=row.participant,
        track=row.track,
        status=s.status,
        created_at=s.created_at,
        rankings=row.rankings,
        disqualified=s.disqualified,
        sha256=s.sha256,
    )


Filter = Annotated[str | None, Query(max_length=64)]


@api.get("/submissions", response_model=list[AdminSubmissionOut])
def submissions_api(
    session: SessionDep,
    competition: CompetitionDep,
    _: ApiOrganizer,
    track: Filter = None,
    status: SubmissionStatus | None = None,
    participant: Filter = None,
) -> Any:
    """The competition's submissions, newest first (200 at most), filtered."""
    rows = service.submissions_of(
        session, competition, track=track, status=status, participant=participant
    )
    return [_row_out(r) for r in rows]


@api.post("/submissions/{submission_id}/rescore", status_code=202)
def rescore_api(
    request: Request,
    submission_id: int,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiOrganizer,
) -> dict[str, list[int]]:
    """Score one submission again (after a ground-truth change, say)."""
    submission = service.submission_in(session, competition, submission_id)
    send = request.app.state.dispatcher.send
    return {"queued": service.rescore_submissions(session, competition, user, send, [submission])}


@api.post(
    "/submissions/{submission_id}/disqualify",
    response_model=AdminSubmissionOut,
    responses=BODY_ERRORS,
)
def disqualify_api(
    submission_id: int,
    body: Disqualification,
    session: SessionDep,
    competition: CompetitionDep,
    user: ApiOrganizer,
) -> Any:
    """Keep a submission off the leaderboards, with a reason its owner sees."""
    submission = service.submission_in(session, competition, submission_id)
    service.disqualify(session, competition, user, submission, body.reason)
    (row,) = service.submissions_of(session, competition, submission_id=submission.id)
    return _row_out(row)


@pages.get("/submissions")
def submissions_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    track: Filter = None,
    status: Annotated[str, Query(max_length=16)] = "",
    participant: Filter = None,
) -> Response:
    chosen = SubmissionStatus(status) if status in {s.value for s in SubmissionStatus} else None
    context = {
        "competition": competition,
        "user": user,
        "rows": service.submissions_of(
            session, competition, track=track, status=chosen, participant=participant
        ),
        "tracks": tracks_of(session, competition),
        "splits": splits_of(session, competition),
        "statuses": list(SubmissionStatus),
        "filters": {"track": track or "", "status": status, "participant": participant or ""},
    }
    return templates.TemplateResponse(request, "admin/submissions.html", context)


@pages.post("/submissions/{submission_id}/{action}", dependencies=CSRF_CHECKED)
def submission_action_page(
    request: Request,
    submission_id: int,
    action: str,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Rescore, disqualify (with the reason) or requalify one submission."""
    submission = service.submission_in(session, competition, submission_id)
    if action == "rescore":
        send = request.app.state.dispatcher.send
        service.rescore_submissions(session, competition, user, send, [submission])
    elif action in ("disqualify", "requalify"):
        service.disqualify(
            session, competition, user, submission, reason if action == "disqualify" else None
        )
    else:
        raise Invalid(f"'{action}' is not an action on a submission")
    return RedirectResponse(f"/competitions/{competition.slug}/admin/submissions", 303)


@api.get("/tracks/{track}/export", responses=with_csv("every ranked row: JSON, or CSV"))
def export_api(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: ApiOrganizer,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """Every ranked row of the track on every split, exact, with provenance (zip SHA-256,
    scorer version, ground-truth digest, time scored), as JSON or CSV."""
    return _export(session, competition, track, user, format)


@pages.get("/tracks/{track}/export")
def export_page(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "csv",
) -> Response:
    return _export(session, competition, track, user, format)


def _export(
    session: SessionDep, competition: CompetitionDep, track: Track, user: User, format: str
) -> Response:
    rows = service.export(session, competition, user, track)
    name = f"{competition.slug}-{track.name}-results.{format}"
    if format == "json":
        return JSONResponse(rows, headers=attachment(name))
    columns = [
        "split",
        "rank",
        "participant",
        "submission_id",
        "ranking_score",
        "submitted_at",
        "submissions",
        "sha256",
        "scorer_version",
        "ground_truth_sha256",
        "scored_at",
    ]
    return csv_download(
        name, columns, ([spreadsheet_safe(str(r[c])) for c in columns] for r in rows)
    )


class AuditOut(BaseModel):
    """One audit entry."""

    id: int
    at: datetime
    actor: str | None
    action: str
    detail: dict[str, Any]


Action = Annotated[str | None, Query(max_length=64, description="actions starting with this")]


@api.get("/audit", response_model=list[AuditOut])
def audit_api(
    session: SessionDep, competition: CompetitionDep, _: ApiOrganizer, action: Action = None
) -> Any:
    """The competition's audit log, newest first (200 entries at most)."""
    return [
        AuditOut(id=e.id, at=e.created_at, actor=who, action=e.action, detail=e.detail)
        for e, who in service.audit_log(session, competition, action=action)
    ]


@pages.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    action: Action = None,
) -> Response:
    context = {
        "competition": competition,
        "user": user,
        "action": action or "",
        "entries": service.audit_log(session, competition, action=action),
    }
    return templates.TemplateResponse(request, "admin/audit.html", context)
