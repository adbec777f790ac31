"""Organizers' page and API for a track's ground truth: what is stored, replacing it from a zip,
and the rescoring's progress (organizers only; 403 for anyone else, a sign-in for anonymous
visitors of the page).

The upload routes read their body themselves, after the organizer is known, within
TRUTH_UPLOAD_MAX_BYTES: a body over it is a 413 that names the limit (the application-wide
body limit, for submissions, would answer a bare "Content Too Large").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from app.admin.dependencies import API_PATH, PAGES_PATH
from app.admin.truth import service as truth
from app.admin.truth.schemas import TruthOut, progress_out, split_out
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer, TrackDep
from app.competitions.service import definition_of
from app.core.csrf import verify_csrf
from app.core.db import SessionDep
from app.core.errors import DomainError, Invalid, TooLarge
from app.core.forms import done, flash, refused
from app.core.openapi import problems
from app.core.templating import templates
from app.core.uploads import bounded_form
from app.models.competition import Competition
from app.models.track import Track
from app.models.user import User

PATH = "/tracks/{track}/truth"
pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)
UNBOUNDED = 2**62  # the framework's body limit steps aside: `read_upload` applies its own
FORM_OVERHEAD = 64 * 1024  # the form's other fields and boundaries
UPLOAD_ERRORS = {
    200: {"description": "the zip held exactly the stored labels", "model": TruthOut},
    **problems(
        413,
        422,
        _413="over TRUTH_UPLOAD_MAX_BYTES; the message says the limit",
        _422="not valid ground truth (`errors` lists every problem; nothing changed), or no "
        "multipart field `file`",
    ),
}
# Read by `read_upload` (never past the limit), so documented here rather than by a parameter.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the ground truth zip, laid out as import-mico reads it",
                        }
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


@dataclass(frozen=True)
class Upload:
    """A multipart body's file and its text fields."""

    data: bytes
    filename: str
    fields: dict[str, str]


def _max_bytes(request: Request) -> int:
    return int(request.app.state.settings.truth_upload_max_bytes)


async def read_upload(request: Request) -> Upload:
    """The form's `file` (and other fields), never reading past the limit: refused by its
    Content-Length before a byte is read, or as soon as a body without one passes it."""
    limit = _max_bytes(request)
    form = await bounded_form(
        request,
        bound=limit + FORM_OVERHEAD,
        too_large=lambda size: TooLarge(truth.too_large_message(size, limit)),
        not_multipart="send the zip as a multipart form field named file (curl -F file=@truth.zip)",
        unreadable="; send one file, the zip",
        max_files=1,
        max_fields=8,
        max_part_size=FORM_OVERHEAD,
    )
    file = form.get("file")
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    if not isinstance(file, UploadFile):
        await form.close()
        raise Invalid("the form has no file named file; send the zip as the field file")
    data = await file.read()
    await form.close()
    return Upload(data, file.filename or "truth.zip", fields)


UploadDep = Annotated[Upload, Depends(read_upload)]


def _status(
    session: SessionDep,
    request: Request,
    competition: Competition,
    track: Track,
    changed: bool | None = None,
) -> TruthOut:
    splits = truth.required_splits(session, competition, track)
    return TruthOut(
        competition=competition.slug,
        track=track.name,
        required_splits=list(splits),
        layout=_layout(competition, track),
        max_upload_bytes=_max_bytes(request),
        digests=truth.digests(session, track, splits),
        splits=[split_out(row) for row in truth.stored_truth(session, track)],
        progress=progress_out(truth.progress(session, track)),
        changed=changed,
    )


def _layout(competition: Competition, track: Track) -> str:
    filename = definition_of(competition).solution_file
    return f"{track.name}/{{scenario}}/{{split}}/model_{{id}}/{filename}"


def _replace(
    request: Request,
    session: SessionDep,
    competition: Competition,
    track: Track,
    user: User,
    upload: Upload,
) -> bool:
    """Replace the truth from the upload; False when it held exactly the stored labels."""
    version = truth.replace_truth(
        session,
        competition,
        user,
        track,
        upload.data,
        filename=upload.filename,
        max_bytes=_max_bytes(request),
        dispatcher=request.app.state.dispatcher,
    )
    return version is not None


@api.get(PATH, response_model=TruthOut)
def truth_api(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    _: ApiOrganizer,
) -> TruthOut:
    """The track's stored ground truth (shapes and digests, never a label) and the progress
    of the rescoring after its latest replacement."""
    return _status(session, request, competition, track)


@api.put(
    PATH,
    response_model=TruthOut,
    status_code=202,
    responses=UPLOAD_ERRORS,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UNBOUNDED,
)
@api.post(
    PATH,
    response_model=TruthOut,
    status_code=202,
    responses=UPLOAD_ERRORS,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UNBOUNDED,
)
def replace_api(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: ApiOrganizer,
    upload: UploadDep,
) -> Any:
    """Replace the track's ground truth with a zip (multipart field `file`) in the layout
    import-mico reads: 202 once stored and every submission of the track is queued to be
    scored again; 200 with `changed: false` when nothing differs; 422 with every problem."""
    changed = _replace(request, session, competition, track, user, upload)
    body = _status(session, request, competition, track, changed=changed)
    if not changed:
        return JSONResponse(body.model_dump(mode="json"), 200)
    return body


def _context(
    request: Request,
    session: SessionDep,
    competition: Competition,
    track: Track,
    user: User,
) -> dict[str, Any]:
    definition = definition_of(competition)
    splits = truth.required_splits(session, competition, track)
    return {
        "competition": competition,
        "track": track,
        "user": user,
        "stored": truth.stored_truth(session, track),
        "digests": truth.digests(session, track, splits),
        "progress": truth.progress(session, track),
        "splits": [definition.split(s) for s in splits],
        "scenarios": definition.track(track.name).scenarios,
        "points": definition.points_per_model,
        "layout": _layout(competition, track),
        "max_bytes": _max_bytes(request),
        "submissions": truth.submission_count(session, track),
    }


@pages.get(PATH)
def truth_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    progress_only: Annotated[bool, Query()] = False,
) -> Response:
    """The page; `progress_only` is the progress panel alone, for its live refresh."""
    if progress_only:
        context = {
            "competition": competition,
            "track": track,
            "progress": truth.progress(session, track),
        }
        return templates.TemplateResponse(request, "admin/_truth_progress.html", context)
    shown = _context(request, session, competition, track, user)
    return templates.TemplateResponse(request, "admin/truth.html", shown)


@pages.post(PATH, max_body_size=UNBOUNDED)
def replace_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    upload: UploadDep,
) -> Response:
    """The form's upload: JSON for the page's script, a redirect or the page again otherwise."""
    wants_json = "application/json" in request.headers.get("accept", "")
    url = f"/competitions/{competition.slug}/admin/tracks/{track.name}/truth"
    try:
        verify_csrf(request, upload.fields.get("csrf_token", ""))
        if upload.fields.get("confirm") != "yes":
            raise Invalid(
                "tick the box that says every submission of the track will be scored again"
            )
        changed = _replace(request, session, competition, track, user, upload)
    except DomainError as exc:
        session.rollback()  # before the page below: it must not show labels only flushed
        if wants_json:
            body = {"detail": exc.message, "errors": exc.errors or []}
            return JSONResponse(body, exc.status_code, headers=exc.headers)
        context = _context(request, session, competition, track, user)
        return refused(
            request, session, "admin/truth.html", exc, problems=exc.errors or [], **context
        )
    notice = (
        f"The ground truth is replaced; every submission of {track.name} is queued to be "
        "scored again."
        if changed
        else "The zip holds exactly the stored labels: nothing changed, nothing is rescored."
    )
    if wants_json:  # the page's script opens `url`, where the notice is shown
        flash(request, notice)
        return JSONResponse({"url": url, "changed": changed}, 202)
    return done(request, url, notice)
