"""The public Results of a competition: a page (a tab of the competition's) and the API,
both answering 404 until the organizers have revealed the final results and announced awards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth.dependencies import MaybeApiUser, MaybeUser
from app.competitions.dependencies import CompetitionDep
from app.competitions.tabs import page_context
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.templating import templates
from app.leaderboard import boards
from app.leaderboard.service import Entry
from app.models.competition import Competition
from app.models.track import Track
from app.results import service
from app.results.schemas import ResultsOut, track_results_out

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["results"], responses=problems(401, 404, 422))


@api.get(
    "/competitions/{slug}/results",
    response_model=ResultsOut,
    responses=problems(404, _404="no such competition, or its results are not announced yet"),
)
def results_api(
    request: Request, session: SessionDep, competition: CompetitionDep, _: MaybeApiUser
) -> ResultsOut:
    """Per track the announced awards, each with its entry's method, write-up and code links,
    and the final leaderboard."""
    tracks = service.results(session, competition, _kept(request, competition))
    return ResultsOut(competition=competition.slug, tracks=[track_results_out(t) for t in tracks])


@pages.get("/competitions/{slug}/results")
def results_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: MaybeUser
) -> Response:
    """The Results tab: the awards and final leaderboard per track; before the announcement a
    page saying so, answered 404 (nothing of the final split is in it)."""
    context = page_context(session, competition, user, "results")
    announced = service.announced(session, competition)
    context["announced"] = announced
    context["results"] = (
        service.results(session, competition, _kept(request, competition)) if announced else []
    )
    status = 200 if announced else 404
    return templates.TemplateResponse(
        request, "competitions/show.html", context, status_code=status
    )


def _kept(request: Request, competition: Competition) -> service.Ranked:
    """The final rows from this process's leaderboard cache, as the leaderboard page shows
    them after the reveal (exact): a busy results page does not rank every track again."""
    state = request.app.state

    def ranked(track: Track, split: str) -> list[Entry]:
        board = boards.board_of(
            state.session_factory, state.standings, competition, track, split, True
        )
        return board.entries

    return ranked
