"""Organizers' page and API for a competition's submissions: the list with exact scores,
rescore, disqualify and requalify."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.admin.dependencies import API_PATH, PAGES_PATH
from app.admin.paging import PageNumber, page_url
from app.admin.submissions import service
from app.admin.submissions.schemas import AdminSubmissionOut, Disqualification, row_out
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.competitions.registrations import tracks_of
from app.competitions.service import definition_of
from app.competitions.visibility import splits_of
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.errors import DomainError, Invalid, NotFound
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS
from app.core.templating import templates
from app.models.competition import Competition
from app.models.submission import SubmissionStatus
from app.models.user import User
from app.submissions.schemas import metric_columns

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)
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
    return [row_out(r) for r in rows]


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
    return row_out(row)


def _context(
    session: SessionDep,
    competition: Competition,
    user: User,
    track: str | None = None,
    status: str = "",
    participant: str | None = None,
    number: int = 1,
) -> dict[str, Any]:
    chosen = SubmissionStatus(status) if status in {s.value for s in SubmissionStatus} else None
    return {
        "competition": competition,
        "user": user,
        "page": service.submissions_page(
            session, competition, number, track=track, status=chosen, participant=participant
        ),
        "path": f"/competitions/{competition.slug}/admin/submissions",
        "page_url": page_url,
        "tracks": tracks_of(session, competition),
        "splits": splits_of(session, competition),
        "statuses": list(SubmissionStatus),
        "filters": {"track": track or "", "status": status, "participant": participant or ""},
    }


@pages.get("/submissions")
def submissions_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    track: Filter = None,
    status: Annotated[str, Query(max_length=16)] = "",
    participant: Filter = None,
    page: PageNumber = 1,
) -> Response:
    """The submissions, newest first, a page at a time; the filters stay across pages."""
    context = _context(session, competition, user, track, status, participant, page)
    return templates.TemplateResponse(request, "admin/submissions.html", context)


def _detail_context(
    session: SessionDep, competition: Competition, user: User, submission_id: int
) -> dict[str, Any]:
    return {
        "competition": competition,
        "user": user,
        "detail": service.submission_detail(session, competition, submission_id),
        "columns": metric_columns(definition := definition_of(competition)),
        "scenario_word": definition.scenario_word,
    }


@pages.get("/submissions/{submission_id}")
def submission_page(
    request: Request,
    submission_id: int,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
) -> Response:
    """One submission as organizers see it: who sent it, every split's exact scores, and what
    can be done to it."""
    context = _detail_context(session, competition, user, submission_id)
    return templates.TemplateResponse(request, "admin/submission.html", context)


@pages.post("/submissions/{submission_id}/{action}", dependencies=CSRF_CHECKED)
def submission_action_page(
    request: Request,
    submission_id: int,
    action: str,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Rescore, disqualify (with the reason) or requalify one submission; `back=submission`
    comes back to the submission's page rather than the list."""
    listing = f"/competitions/{competition.slug}/admin/submissions"
    try:
        submission = service.submission_in(session, competition, submission_id)
        if action == "rescore":
            send = request.app.state.dispatcher.send
            service.rescore_submissions(session, competition, user, send, [submission])
            notice = f"Submission {submission_id} is queued to be scored again."
        elif action in ("disqualify", "requalify"):
            why = reason if action == "disqualify" else None
            service.disqualify(session, competition, user, submission, why)
            notice = (
                f"Submission {submission_id} is disqualified: it left every leaderboard."
                if why is not None
                else f"Submission {submission_id} is requalified: it is ranked again."
            )
        else:
            raise Invalid(f"'{action[:40]}' is not an action on a submission")
    except DomainError as exc:
        if back == "submission" and not isinstance(exc, NotFound):
            session.rollback()
            context = _detail_context(session, competition, user, submission_id)
            return refused(request, session, "admin/submission.html", exc, **context)
        return refused(
            request, session, "admin/submissions.html", exc, **_context(session, competition, user)
        )
    if back == "submission":
        return done(request, f"{listing}/{submission_id}", notice)
    return done(request, f"{listing}#submission-{submission_id}", notice)
