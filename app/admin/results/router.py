"""Organizers' page and API to announce a competition's results after the reveal: per track
the awards, each naming an entry of the final leaderboard (organizers only; 403 for anyone
else, a sign-in for anonymous visitors of the page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.admin.dependencies import API_PATH, ORGANIZER_FORM, PAGES_PATH
from app.admin.results import service
from app.admin.results.schemas import AwardsIn
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer, TrackDep
from app.competitions.registrations import tracks_of
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS, problems
from app.core.templating import templates
from app.models.competition import Competition
from app.models.user import User
from app.results import service as results
from app.results.schemas import ResultsOut, TrackResultsOut, track_results_out

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)
NOT_REVEALED = problems(409, _409="the final results are not revealed yet")


@api.get("/results", response_model=ResultsOut)
def results_api(session: SessionDep, competition: CompetitionDep, _: ApiOrganizer) -> Any:
    """Every track's awards as announced so far and its final leaderboard, with each entry's
    method and links (before the reveal too: organizers see the final split)."""
    tracks = tracks_of(session, competition)
    return ResultsOut(
        competition=competition.slug,
        tracks=[track_results_out(results.track_results(session, competition, t)) for t in tracks],
    )


@api.put(
    "/results/tracks/{track}",
    response_model=TrackResultsOut,
    responses={**BODY_ERRORS, **NOT_REVEALED},
)
def publish_api(
    body: AwardsIn,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: ApiOrganizer,
) -> Any:
    """Announce the track's awards, replacing any announced before (`[]` withdraws them):
    409 before the reveal, 422 for an entry not on the final leaderboard."""
    choices = [a.choice() for a in body.awards]
    return track_results_out(service.publish(session, competition, user, track, choices))


def _context(session: SessionDep, competition: Competition, user: User) -> dict[str, Any]:
    tracks = tracks_of(session, competition)
    return {
        "competition": competition,
        "user": user,
        "results": [results.track_results(session, competition, t) for t in tracks],
        "revealed": competition.revealed_at is not None,
        "announced": results.announced(session, competition),
        "suggested": service.SUGGESTED,
        "rows": service.MAX_AWARDS // 2,
        "max_title": service.MAX_TITLE,
    }


@pages.get("/results")
def results_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    context = _context(session, competition, user)
    return templates.TemplateResponse(request, "admin/results.html", context)


Texts = Annotated[list[str], Form()]


@pages.post("/results/{track}", dependencies=ORGANIZER_FORM)
def publish_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    title: Texts,
    entry: Texts,
) -> Response:
    """Announce (or change) a track's awards from the form's rows."""
    try:
        choices = service.parse_form(title, entry)
        service.publish(session, competition, user, track, choices)
    except DomainError as exc:
        session.rollback()
        context = _context(session, competition, user)
        return refused(request, session, "admin/results.html", exc, failed=track.name, **context)
    notice = (
        f"Awards of {track.name} announced: they are on the Results page."
        if choices
        else f"Awards of {track.name} withdrawn."
    )
    url = f"/competitions/{competition.slug}/admin/results#results-{track.name}"
    return done(request, url, notice)
