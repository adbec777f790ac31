"""A competition's benchmark board, once organizers made it a living benchmark: a page (a tab
of the competition's) and the API, per track; 404 before."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth.dependencies import MaybeApiUser, MaybeUser
from app.benchmark import service
from app.benchmark.schemas import BenchmarkOut, board_out
from app.competitions.dependencies import CompetitionDep
from app.competitions.registrations import track_by_name, tracks_of
from app.competitions.tabs import page_context
from app.competitions.visibility import benchmark_phase
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.openapi import problems
from app.core.templating import templates
from app.models.competition import Competition
from app.models.track import Track

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["benchmark"], responses=problems(401, 404, 422))
TrackName = Annotated[str | None, Query(max_length=64, description="the track; the first one")]


def _track(session: SessionDep, competition: Competition, name: str | None) -> Track:
    if name:
        return track_by_name(session, competition, name)
    tracks = tracks_of(session, competition)
    if not tracks:
        raise NotFound(f"{competition.title} has no track")
    return tracks[0]


@api.get(
    "/competitions/{slug}/benchmark",
    response_model=BenchmarkOut,
    responses=problems(404, _404="no such competition or track, or it is not a benchmark"),
)
def benchmark_api(
    session: SessionDep, competition: CompetitionDep, _: MaybeApiUser, track: TrackName = None
) -> Any:
    """A track's benchmark rows: the competition's final ranking and the entries made after,
    ranked together, each marked, with its method, links and verification level."""
    board = service.board(session, competition, _track(session, competition, track))
    return board_out(competition.slug, board, competition.labels_published_at)


@pages.get("/competitions/{slug}/benchmark")
def benchmark_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: MaybeUser,
    track: TrackName = None,
) -> Response:
    """The Benchmark tab: a track's board; 404 while the competition is not a benchmark."""
    context = page_context(session, competition, user, "benchmark")
    context.update(_board_context(session, competition, track))
    status = 200 if context["board"] else 404
    return templates.TemplateResponse(
        request, "competitions/show.html", context, status_code=status
    )


def _board_context(
    session: SessionDep, competition: Competition, track: str | None
) -> dict[str, Any]:
    if benchmark_phase(session, competition) is None or competition.revealed_at is None:
        return {"board": None}
    board = service.board(session, competition, _track(session, competition, track))
    return {"board": board, "levels": service.LEVELS}
