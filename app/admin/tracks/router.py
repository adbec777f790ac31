"""Organizers' page and API for a competition's tracks and scenarios (organizers only; 403 for
anyone else, a sign-in for anonymous visitors of the page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.admin.dependencies import API_PATH, ORGANIZER_FORM, PAGES_PATH
from app.admin.tracks import service
from app.admin.tracks.schemas import ScenarioOut, TrackIn, TrackOut, TrackPatch, TruthOut
from app.admin.tracks.service import MAX_SCENARIOS, TrackView
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer, TrackDep
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS, problems
from app.core.templating import templates
from app.models.competition import Competition
from app.models.track import Track
from app.models.user import User

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)


def _out(view: TrackView) -> TrackOut:
    return TrackOut(
        name=view.track.name,
        title=view.track.title,
        submissions=view.submissions,
        scenarios_locked=view.locked,
        removable=view.removable,
        scenarios=[
            ScenarioOut(
                name=s.scenario.name,
                ground_truth=[
                    TruthOut(split=split, present=False)
                    if truth is None
                    else TruthOut(
                        split=split,
                        present=True,
                        models=truth.models,
                        points_per_model=truth.points_per_model,
                        updated_at=truth.updated_at,
                    )
                    for split, truth in s.truth.items()
                ],
            )
            for s in view.scenarios
        ],
    )


@api.get("/tracks", response_model=list[TrackOut])
def tracks_api(session: SessionDep, competition: CompetitionDep, _: ApiOrganizer) -> Any:
    """Every track with its scenarios, their ground truth (present or missing, sizes, when
    uploaded; never labels) and the number of submissions."""
    return [_out(v) for v in service.overview(session, competition)[1]]


@api.post("/tracks", response_model=TrackOut, status_code=201, responses=BODY_ERRORS)
def add_track_api(
    body: TrackIn, session: SessionDep, competition: CompetitionDep, user: ApiOrganizer
) -> Any:
    """A new track and its scenarios; 422 when a name is malformed or taken."""
    track = service.add_track(session, competition, user, body.name, body.title, body.scenarios)
    return _out(service.view_of(session, competition, track))


@api.patch(
    "/tracks/{track}",
    response_model=TrackOut,
    responses={**BODY_ERRORS, **problems(409, _409="the track has submissions, or ground truth")},
)
def change_track_api(
    body: TrackPatch,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: ApiOrganizer,
) -> Any:
    """Change the title; rename, add or remove scenarios (409 once the track has submissions,
    or for a scenario with ground truth). All or nothing."""
    _apply(session, competition, user, track, body)
    return _out(service.view_of(session, competition, track))


@api.delete(
    "/tracks/{track}",
    status_code=204,
    responses=problems(409, _409="the track has submissions or ground truth"),
)
def remove_track_api(
    session: SessionDep, competition: CompetitionDep, track: TrackDep, user: ApiOrganizer
) -> Response:
    """Remove a track with neither submissions nor ground truth (409 otherwise)."""
    service.remove_track(session, competition, user, track)
    return Response(status_code=204)


def _apply(
    session: SessionDep, competition: Competition, user: User, track: Track, body: TrackPatch
) -> None:
    if body.title is not None:
        service.change_title(session, competition, user, track, body.title)
    for old, new in body.rename_scenarios.items():
        service.rename_scenario(session, competition, user, track, old, new)
    for name in body.remove_scenarios:
        service.remove_scenario(session, competition, user, track, name)
    if body.add_scenarios:
        service.add_scenarios(session, competition, user, track, body.add_scenarios)


def _context(session: SessionDep, competition: Competition, user: User) -> dict[str, Any]:
    splits, views = service.overview(session, competition)
    return {
        "competition": competition,
        "user": user,
        "splits": splits,
        "views": views,
        "max_scenarios": MAX_SCENARIOS,
        "name_rule": service.NAME_RULE,
        "new": {"name": "", "title": "", "scenarios": ""},
    }


@pages.get("/tracks")
def tracks_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    context = _context(session, competition, user)
    return templates.TemplateResponse(request, "admin/tracks.html", context)


Text = Annotated[str, Form()]


def _act(
    request: Request,
    session: SessionDep,
    competition: Competition,
    user: User,
    action: Callable[[], object],
    notice: str,
    anchor: str = "",
    **form: Any,
) -> Response:
    """Do one change and go back to the page saying what was done; refused, the page again
    saying why, with the form as it was sent."""
    try:
        action()
    except DomainError as exc:
        session.rollback()  # before the overview below: it must not show what was flushed
        context = {**_context(session, competition, user), **form}
        return refused(request, session, "admin/tracks.html", exc, **context)
    return done(request, f"/competitions/{competition.slug}/admin/tracks{anchor}", notice)


@pages.post("/tracks", dependencies=ORGANIZER_FORM)
def add_track_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    name: Text = "",
    title: Text = "",
    scenarios: Text = "",
) -> Response:
    """Add a track with its scenarios (typed separated by commas, spaces or lines)."""
    return _act(
        request,
        session,
        competition,
        user,
        lambda: service.add_track(
            session, competition, user, name, title, service.split_names(scenarios)
        ),
        f"Track {name.strip()} added.",
        f"#track-{name.strip()}",
        new={"name": name, "title": title, "scenarios": scenarios},
    )


@pages.post("/tracks/{track}", dependencies=ORGANIZER_FORM)
def change_title_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    title: Text = "",
) -> Response:
    """Change a track's title."""
    return _act(
        request,
        session,
        competition,
        user,
        lambda: service.change_title(session, competition, user, track, title),
        f"Track {track.name} is now titled \u201c{title.strip()}\u201d.",
        f"#track-{track.name}",
    )


@pages.post("/tracks/{track}/remove", dependencies=ORGANIZER_FORM)
def remove_track_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
) -> Response:
    """Remove an unused track."""
    return _act(
        request,
        session,
        competition,
        user,
        lambda: service.remove_track(session, competition, user, track),
        f"Track {track.name} and its scenarios are removed.",
    )


@pages.post("/tracks/{track}/scenarios", dependencies=ORGANIZER_FORM)
def add_scenarios_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    scenarios: Text = "",
) -> Response:
    """Add scenarios to a track without submissions."""
    return _act(
        request,
        session,
        competition,
        user,
        lambda: service.add_scenarios(
            session, competition, user, track, service.split_names(scenarios)
        ),
        f"Scenarios added to {track.name}: {', '.join(service.split_names(scenarios))}.",
        f"#track-{track.name}",
    )


@pages.post("/tracks/{track}/scenarios/{scenario}", dependencies=ORGANIZER_FORM)
def rename_scenario_page(
    request: Request,
    scenario: str,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
    name: Text = "",
) -> Response:
    """Rename a scenario of a track without submissions."""
    return _act(
        request,
        session,
        competition,
        user,
        lambda: service.rename_scenario(session, competition, user, track, scenario, name),
        f"Scenario {scenario} of {track.name} is now {name.strip()}.",
        f"#track-{track.name}",
    )


@pages.post("/tracks/{track}/scenarios/{scenario}/remove", dependencies=ORGANIZER_FORM)
def remove_scenario_page(
    request: Request,
    scenario: str,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: Organizer,
) -> Response:
    """Remove a scenario without ground truth from a track without submissions."""
    return _act(
        request,
        session,
        competition,
        user,
        lambda: service.remove_scenario(session, competition, user, track, scenario),
        f"Scenario {scenario} is removed from {track.name}.",
        f"#track-{track.name}",
    )
