"""Organizers' downloads (page links and API): one submission's zip, a track's representative
submissions on a split as one streamed zip with a manifest, and the results export."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from app.admin.dependencies import API_PATH, PAGES_PATH
from app.admin.downloads import service as downloads
from app.admin.downloads.schemas import EXPORT_COLUMNS, Format, Split
from app.admin.submissions.service import submission_in
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer, TrackDep
from app.core.db import SessionDep
from app.core.downloads import attachment, csv_download, spreadsheet_safe
from app.core.openapi import with_csv
from app.models.competition import Competition
from app.models.track import Track
from app.models.user import User

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)


@api.get("/submissions/{submission_id}/zip", response_class=Response)
def submission_zip_api(
    submission_id: int, session: SessionDep, competition: CompetitionDep, user: ApiOrganizer
) -> Response:
    """The submission's zip as uploaded, named e.g. `mico-cifar10-ada-17.zip`."""
    return _one(session, competition, user, submission_id)


@pages.get("/submissions/{submission_id}/zip", response_class=Response)
def submission_zip_page(
    submission_id: int, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    return _one(session, competition, user, submission_id)


def _one(session: SessionDep, competition: Competition, user: User, submission_id: int) -> Response:
    submission = submission_in(session, competition, submission_id)
    name, data = downloads.submission_zip(session, competition, user, submission)
    return Response(data, media_type="application/zip", headers=attachment(name))


@api.get("/tracks/{track}/representatives.zip", response_class=StreamingResponse)
def representatives_api(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: ApiOrganizer,
    split: Split = "dev",
) -> StreamingResponse:
    """Each participant's representative submission on the split (the exact standings, never
    the Ladder's) as `<rank>-<name>-<id>.zip` entries, with `manifest.csv` (rank, participant,
    submission_id, sha256, ranking_score, file); streamed as it is made."""
    return _all(request, session, competition, track, user, split)


@pages.get("/tracks/{track}/representatives.zip", response_class=StreamingResponse)
def representatives_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    split: Split = "dev",
) -> StreamingResponse:
    return _all(request, session, competition, track, user, split)


def _all(
    request: Request,
    session: SessionDep,
    competition: Competition,
    track: Track,
    user: User,
    split: str,
) -> StreamingResponse:
    """The standings are read (and the download audited) in the request's transaction; the
    zips in a session of the stream's own, since the request's is committed before it runs."""
    chosen = downloads.representatives(session, competition, user, track, split)
    name = f"{competition.slug}-{track.name}-{split}-representatives.zip"
    return StreamingResponse(
        downloads.stream_zip(request.app.state.session_factory, chosen),
        media_type="application/zip",
        headers=attachment(downloads.safe_name(name)),
    )


@api.get("/tracks/{track}/export", responses=with_csv("every ranked row: JSON, or CSV"))
def export_api(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: ApiOrganizer,
    format: Format = "json",
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
    format: Format = "csv",
) -> Response:
    return _export(session, competition, track, user, format)


def _export(
    session: SessionDep, competition: Competition, track: Track, user: User, format: str
) -> Response:
    rows = downloads.export(session, competition, user, track)
    name = f"{competition.slug}-{track.name}-results.{format}"
    if format == "json":
        return JSONResponse(rows, headers=attachment(name))
    return csv_download(
        name,
        EXPORT_COLUMNS,
        ([spreadsheet_safe(_text(r[c])) for c in EXPORT_COLUMNS] for r in rows),
    )


def _text(value: object) -> str:
    """A cell: nothing for a value not given (no method named, no award, an interval still to
    come), else its text."""
    return "" if value is None else str(value)
