"""Uploading submissions and following them: the API for scripts, pages for browsers."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.auth.dependencies import ApiUser, SignedIn
from app.competitions.dependencies import CompetitionDep, TrackDep
from app.competitions.service import definition_of
from app.core import jobs
from app.core.charts import Curve, roc_svg
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.downloads import attachment
from app.core.errors import DomainError
from app.core.flash import flash
from app.core.forms import done, refused
from app.core.openapi import problems
from app.core.templating import templates
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.submission import Submission
from app.models.track import Track
from app.models.user import User
from app.submissions import methods, service, views
from app.submissions.dependencies import ApiSubmission, PageSubmission
from app.submissions.pipeline import DONE, zip_bytes
from app.submissions.schemas import (
    SubmissionList,
    SubmissionOut,
    SubmissionPatch,
    UploadOut,
    UploadsOut,
    metric_columns,
    uploads_out,
)
from app.submissions.service import Accepted, Shown

MAX_WAIT = 30
pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["submissions"], responses=problems(401, 404, 422))

Description = Annotated[str, Form(description="what this attempt tries, for your own records")]
UPLOAD_ERRORS = problems(
    400,
    403,
    404,
    413,
    422,
    429,
    _403="not registered and approved, or no phase takes uploads now",
    _404="no such competition or track",
    _413="the zip is over the phase's size limit",
    _422="the zip is not valid (`errors` lists every problem), or a field is missing",
)


def _upload(
    request: Request,
    session: Session,
    competition: Competition,
    track: Track,
    user: User,
    file: UploadFile,
    description: str,
) -> Accepted:
    """Validate and store the upload, and send it to be scored once committed."""
    accepted = service.accept(
        session,
        competition,
        track,
        user,
        file.file.read(),
        filename=file.filename or "submission.zip",
        description=description,
        now=utcnow(),
    )
    jobs.after_commit(session, partial(request.app.state.dispatcher.send, accepted.submission.id))
    return accepted


@api.post(
    "/competitions/{slug}/tracks/{track}/submissions",
    status_code=202,
    response_model=UploadOut,
    responses=UPLOAD_ERRORS,
)
def upload_api(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: ApiUser,
    file: UploadFile,
    description: Description = "",
) -> UploadOut:
    """Upload a prediction zip for a track: 202 once it is stored and queued for scoring, with
    what the reader ignored in it (`warnings`)."""
    accepted = _upload(request, session, competition, track, user, file, description)
    stored = views.view(session, accepted.submission, user, shown={})  # nothing scored yet
    return UploadOut(**stored.model_dump(), warnings=accepted.warnings)


@api.get("/competitions/{slug}/tracks/{track}/uploads", response_model=UploadsOut)
def uploads_api(
    session: SessionDep, competition: CompetitionDep, track: TrackDep, user: ApiUser
) -> UploadsOut:
    """Whether an upload to the track would be taken now, and if not why: ask before sending
    a zip (`mia-arena submit` does)."""
    return uploads_out(service.uploads_now(session, competition, user, utcnow()))


@api.get("/submissions/{submission_id}", response_model=SubmissionOut)
async def submission_api(
    request: Request,
    session: SessionDep,
    submission: ApiSubmission,
    user: ApiUser,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT,
            description="seconds to wait for the submission to be scored or failed before "
            "answering (long polling: one request instead of many)",
        ),
    ] = 0,
) -> SubmissionOut:
    """A submission's status, timings and shown scores (404 unless it is yours or your team's)."""
    factory = request.app.state.session_factory
    await run_in_threadpool(session.commit)  # the request's connection goes back to the pool

    async def is_done() -> bool:
        return await run_in_threadpool(service.status_of, factory, submission.id) in DONE

    if wait:  # no connection or thread is held while waiting
        await request.app.state.done.wait(submission.id, is_done, wait)
    return await run_in_threadpool(views.fresh_view, factory, submission.id, user)


@api.patch(
    "/submissions/{submission_id}",
    response_model=SubmissionOut,
    responses=problems(403, _403="an organizer's view of it: only its owner or team may"),
)
def describe_api(
    body: SubmissionPatch, session: SessionDep, submission: ApiSubmission, user: ApiUser
) -> SubmissionOut:
    """Name the method of your (or your team's) submission and link its write-up and code,
    shown with it in the results; 422 naming the field for a link that is not http(s)."""
    methods.describe(session, submission, user, body.model_dump(exclude_unset=True))
    return views.view(session, submission, user)


@api.get("/submissions/{submission_id}/zip", response_class=Response)
def download_api(session: SessionDep, submission: ApiSubmission) -> Response:
    """The zip as uploaded."""
    return _zip(session, submission)


@api.get("/competitions/{slug}/tracks/{track}/submissions", response_model=SubmissionList)
def list_api(
    session: SessionDep,
    track: TrackDep,
    user: ApiUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> SubmissionList:
    """Your submissions to a track (your team's, when you are in one), newest first."""
    rows, total = service.own_submissions(session, track, user, limit=limit, offset=offset)
    competition = session.get_one(Competition, track.competition_id)
    return SubmissionList(
        submissions=views.views(session, competition, rows, user),
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + limit < total else None,
    )


PIN_ERRORS = problems(403, _403="the phase ranks by its own rule, or it is not yours to choose")


@api.post("/submissions/{submission_id}/pin", response_model=SubmissionOut, responses=PIN_ERRORS)
def pin_api(session: SessionDep, submission: ApiSubmission, user: ApiUser) -> SubmissionOut:
    """Make this scored submission the one that represents you (where the phase allows it)."""
    return views.view(session, service.pin(session, submission, user, pinned=True), user)


@api.delete("/submissions/{submission_id}/pin", response_model=SubmissionOut, responses=PIN_ERRORS)
def unpin_api(session: SessionDep, submission: ApiSubmission, user: ApiUser) -> SubmissionOut:
    """Let the phase's rule choose again."""
    return views.view(session, service.pin(session, submission, user, pinned=False), user)


def _zip(session: Session, submission: Submission) -> Response:
    return Response(
        zip_bytes(session, submission.id),
        media_type="application/zip",
        headers=attachment(f"submission-{submission.id}.zip"),
    )


def _submit_context(
    session: Session, competition: Competition, track: Track, user: User
) -> dict[str, Any]:
    """The upload form's: what the participant may still upload, or why they may not."""
    context: dict[str, Any] = {"competition": competition, "track": track, "user": user}
    now = utcnow()
    uploads = service.uploads_now(session, competition, user, now)
    if uploads.phase is None or uploads.allowance is None:
        context["refused"] = uploads.refusal
    else:  # a limit reached still shows the form, its button off, and when the count resets
        context["phase"], context["allowance"] = uploads.phase, uploads.allowance
        wait = int((uploads.allowance.resets_at - now).total_seconds())
        context["resets_in"] = service.duration(wait)
    return context


@pages.get("/competitions/{slug}/tracks/{track}/submit")
def submit_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: SignedIn,
) -> Response:
    context = _submit_context(session, competition, track, user)
    return templates.TemplateResponse(request, "submissions/submit.html", context)


@pages.post("/competitions/{slug}/tracks/{track}/submissions", dependencies=CSRF_CHECKED)
def upload_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: SignedIn,
    file: UploadFile,
    description: Description = "",
) -> Response:
    """The form's upload: JSON for the page's script, a redirect or the form again otherwise."""
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        accepted = _upload(request, session, competition, track, user, file, description)
    except DomainError as exc:
        session.rollback()  # the refused upload leaves nothing, not even the count's lock
        warnings = exc.warnings if isinstance(exc, service.InvalidZip) else []
        if wants_json:
            body = {"detail": exc.message, "errors": exc.errors or [], "warnings": warnings}
            return JSONResponse(body, exc.status_code, headers=exc.headers)
        context = _submit_context(session, competition, track, user)
        return refused(
            request,
            session,
            "submissions/submit.html",
            exc,
            problems=exc.errors or [],
            warnings=warnings,
            description=description,
            **context,
        )
    url = f"/submissions/{accepted.submission.id}"
    if wants_json:  # the page's script shows the warnings before it goes there
        answer = {"id": accepted.submission.id, "url": url, "warnings": accepted.warnings}
        return JSONResponse(answer, 202)
    if accepted.warnings:
        flash(request, _ignored(accepted.warnings))
    return RedirectResponse(url, status_code=303)


def _ignored(warnings: list[str]) -> str:
    """One notice of what the reader ignored: the first three, then how many more."""
    more = f"; and {len(warnings) - 3} more" if len(warnings) > 3 else ""
    return f"Stored and queued. Ignored in the zip: {'; '.join(warnings[:3])}{more}"


@pages.get("/competitions/{slug}/tracks/{track}/submissions")
def mine_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: SignedIn,
    rows_only: bool = False,
) -> Response:
    """The participant's submissions; `rows_only` is the table alone, for the live refresh."""
    rows, total = service.own_submissions(session, track, user, limit=200, offset=0)
    context = {
        "competition": competition,
        "track": track,
        "user": user,
        "submissions": views.views(session, competition, rows, user),
        "total": total,
    }
    name = "submissions/_rows.html" if rows_only else "submissions/mine.html"
    return templates.TemplateResponse(request, name, context)


@pages.get("/submissions/{submission_id}")
def show_page(
    request: Request,
    session: SessionDep,
    submission: PageSubmission,
    user: SignedIn,
    panel_only: bool = False,
) -> Response:
    """A submission's page; `panel_only` is its status and scores alone, for the live refresh.
    An organizer who did not upload it gets the organizers' page of it: submitter, every
    split's exact scores, the actions."""
    track = session.get_one(Track, submission.track_id)
    competition = session.get_one(Competition, track.competition_id)
    if submission.user_id != user.id and service.organizes_submission(session, submission, user):
        admin = f"/competitions/{competition.slug}/admin/submissions/{submission.id}"
        return RedirectResponse(admin, status_code=303)
    context = _show_context(session, competition, track, submission, user)
    name = "submissions/_panel.html" if panel_only else "submissions/show.html"
    return templates.TemplateResponse(request, name, context)


def _show_context(
    session: Session, competition: Competition, track: Track, submission: Submission, user: User
) -> dict[str, Any]:
    """What the submission's page shows its owner or their team."""
    shown = service.shown_scores(session, submission, user)
    definition = definition_of(competition)
    phase = session.get_one(Phase, submission.phase_id)
    return {
        "user": user,
        "submission": views.view(session, submission, user, shown),
        "competition": competition,
        "track": track,
        "charts": _charts(shown),
        "columns": metric_columns(definition),
        "scenario_word": definition.scenario_word,
        "mine": submission.user_id == user.id,
        "pinnable": phase.allow_pinning,
        "pinned": submission.pinned,
        "ladder": bool(phase.ladder_eta),
        "method": methods.method_of(submission),
        "max_method": methods.MAX_METHOD,
    }


def _charts(shown: Shown) -> dict[str, list[Markup]]:
    """Per shown split, its ROC curves (one per scenario), linear and log-log, as SVG."""
    charts: dict[str, list[Markup]] = {}
    for split, rows in shown.items():
        curves = [Curve(name, score.roc["fpr"], score.roc["tpr"]) for name, score in rows]
        charts[split] = [
            Markup(roc_svg(curves, scale="linear", title=f"ROC on {split}, linear")),
            Markup(roc_svg(curves, scale="loglog", title=f"ROC on {split}, log-log")),
        ]
    return charts


@pages.post("/submissions/{submission_id}/pin", dependencies=CSRF_CHECKED)
def pin_page(
    session: SessionDep,
    submission: PageSubmission,
    user: SignedIn,
    pinned: Annotated[bool, Form()] = True,
) -> Response:
    service.pin(session, submission, user, pinned=pinned)
    return RedirectResponse(f"/submissions/{submission.id}", status_code=303)


Field = Annotated[str, Form()]


@pages.post("/submissions/{submission_id}/method", dependencies=CSRF_CHECKED)
def describe_page(
    request: Request,
    session: SessionDep,
    submission: PageSubmission,
    user: SignedIn,
    method_name: Field = "",
    writeup_url: Field = "",
    code_url: Field = "",
) -> Response:
    """The method and links form: saved, the page again saying so; refused, the form again
    with what was typed and why."""
    typed = {"method_name": method_name, "writeup_url": writeup_url, "code_url": code_url}
    try:
        methods.describe(session, submission, user, dict(typed))
    except DomainError as exc:
        session.rollback()
        track = session.get_one(Track, submission.track_id)
        competition = session.get_one(Competition, track.competition_id)
        context = _show_context(session, competition, track, submission, user)
        context["typed"] = methods.Method(**typed)  # in the form, never shown as links
        return refused(request, session, "submissions/show.html", exc, **context)
    return done(request, f"/submissions/{submission.id}#method", "Method and links saved.")


@pages.get("/submissions/{submission_id}/download")
def download_page(session: SessionDep, submission: PageSubmission) -> Response:
    return _zip(session, submission)
