"""A track's statistics and analysis: the pages, their downloads (CSV, SVG, PNG, LaTeX) and
their JSON. No score of a hidden split reaches anyone but the organizers, and none under the
Ladder more exactly than the leaderboard shows it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.auth.dependencies import MaybeApiUser, MaybeUser
from app.competitions import visibility
from app.competitions.dependencies import CompetitionDep, TrackDep
from app.competitions.registrations import tracks_of
from app.core.charts_png import to_png
from app.core.charts_stats import best_chart, hardest, per_day_chart, to_svg
from app.core.db import SessionDep
from app.core.downloads import attachment, csv_download
from app.core.errors import NotFound
from app.core.openapi import problems
from app.core.templating import templates
from app.leaderboard import paper, service, statistics
from app.leaderboard.rules import rules_of
from app.models.competition import Competition
from app.models.track import Track
from app.models.user import User

pages = APIRouter()
HIDDEN = "no such track or split, or one hidden from the viewer (final before the reveal)"
api = APIRouter(
    prefix="/api/v1", tags=["leaderboard"], responses=problems(401, 404, 422, _404=HIDDEN)
)
Split = Annotated[str, Query(max_length=16, description="dev, or final once revealed")]
MaybeSplit = Annotated[
    str | None, Query(max_length=16, description="default: final once revealed, else dev")
]
MEDIA = {"csv": "text/csv", "svg": "image/svg+xml", "png": "image/png", "tex": "text/x-tex"}


class DayOut(BaseModel):
    """Entries sent on one UTC day."""

    day: str
    entries: int


class BestOut(BaseModel):
    """A rise of the best ranking score so far."""

    at: str
    score: float
    participant: str


class StatisticsOut(BaseModel):
    """A track's figures, entries per day and the best score over time on `split`."""

    track: str
    split: str
    entries: int
    submitters: int
    registered: int
    per_day: list[DayOut]
    best: list[BestOut]


class ScenarioOut(BaseModel):
    """One scenario's ranking metric across the participants' representative entries."""

    name: str
    values: dict[str, float]
    median: float | None
    q1: float | None
    q3: float | None


class AnalysisOut(BaseModel):
    """Per scenario, the ranking metric of each participant's representative entry."""

    track: str
    split: str
    metric: str
    hardest: str | None
    scenarios: list[ScenarioOut]


@api.get("/competitions/{slug}/tracks/{track}/statistics", response_model=StatisticsOut)
def statistics_api(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeApiUser,
    split: Split = "dev",
) -> StatisticsOut:
    """Entries, participants who submitted, registered participants, entries per day, and
    each rise of the best score on `split` (404 for a split hidden from the viewer)."""
    visibility.require_split(session, competition, split, user)
    counts = statistics.counts(session, competition, track)
    ladder = service.laddered(session, competition, split, user)
    best = statistics.best_over_time(session, competition, track, split, ladder=ladder)
    return StatisticsOut(
        track=track.name,
        split=split,
        entries=counts.entries,
        submitters=counts.submitters,
        registered=counts.registered,
        per_day=[
            DayOut(day=d.isoformat(), entries=n) for d, n in statistics.per_day(session, track)
        ],
        best=[BestOut(at=b.at.isoformat(), score=b.score, participant=b.participant) for b in best],
    )


@api.get("/competitions/{slug}/tracks/{track}/analysis", response_model=AnalysisOut)
def analysis_api(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeApiUser,
    split: MaybeSplit = None,
) -> AnalysisOut:
    """Each scenario's ranking metric per participant on `split` (404 for a split hidden
    from the viewer or protected by the Ladder)."""
    found = _analysis(session, competition, track, user, split)
    worst = hardest(found.spreads())
    scenarios = []
    for spread in found.spreads():
        by_name = {
            e.participant: found.metric[e.submission_id][spread.name]
            for e in found.entries
            if spread.name in found.metric.get(e.submission_id, {})
        }
        q1, median, q3 = spread.quartiles if spread.values else (None, None, None)
        scenarios.append(ScenarioOut(name=spread.name, values=by_name, median=median, q1=q1, q3=q3))
    return AnalysisOut(
        track=track.name,
        split=found.split,
        metric=found.rules.ranking_key,
        hardest=worst.name if worst else None,
        scenarios=scenarios,
    )


ScoresFormat = Annotated[
    Literal["csv", "svg", "png"],
    Query(description="a row per participant and scenario, or the chart"),
]
ResultsFormat = Annotated[Literal["csv", "tex"], Query(description="CSV, or a LaTeX table")]
FILE = {"description": "the file", "content": {m: {} for m in MEDIA.values()}}


@api.get("/competitions/{slug}/tracks/{track}/analysis/scores", responses={200: FILE})
def scores_api(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeApiUser,
    split: MaybeSplit = None,
    format: ScoresFormat = "csv",
) -> Response:
    """Each scenario's ranking metric per participant: CSV, or the chart as SVG or PNG."""
    return _download(session, competition, track, user, f"scores.{format}", split)


@api.get("/competitions/{slug}/tracks/{track}/analysis/results", responses={200: FILE})
def results_api(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeApiUser,
    split: MaybeSplit = None,
    format: ResultsFormat = "csv",
) -> Response:
    """The leaderboard for a paper: CSV, or a LaTeX (booktabs) table."""
    return _download(session, competition, track, user, f"results.{format}", split)


@pages.get("/competitions/{slug}/tracks/{track}/analysis/scores")
def scores_page(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeUser,
    split: MaybeSplit = None,
    format: ScoresFormat = "csv",
) -> Response:
    """The page's download of the scores or the chart, for the signed-in viewer."""
    return _download(session, competition, track, user, f"scores.{format}", split)


@pages.get("/competitions/{slug}/tracks/{track}/analysis/results")
def results_page(
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeUser,
    split: MaybeSplit = None,
    format: ResultsFormat = "csv",
) -> Response:
    """The page's download of the results export, for the signed-in viewer."""
    return _download(session, competition, track, user, f"results.{format}", split)


def _default_split(session: Session, competition: Competition, user: User | None) -> str:
    """The last split the viewer may see: final once revealed (or for organizers), else dev."""
    seen = [
        s
        for s in visibility.splits_of(session, competition)
        if visibility.may_see(session, competition, s, user)
    ]
    return seen[-1] if seen else "dev"


def _analysis(
    session: Session,
    competition: Competition,
    track: Track,
    user: User | None,
    split: str | None,
) -> statistics.Analysis:
    """The analysis of a split the viewer may see exactly, else NotFound."""
    split = split or _default_split(session, competition, user)
    visibility.require_split(session, competition, split, user)
    if service.laddered(session, competition, split, user):
        raise NotFound(
            f"The {split} analysis is not shown while the Ladder protects the {split} "
            "leaderboard: it would give exact scores away"
        )
    rules = rules_of(competition, track)
    return statistics.analysis(session, competition, track, split, rules)


def _download(
    session: Session,
    competition: Competition,
    track: Track,
    user: User | None,
    name: str,
    split: str | None,
) -> Response:
    """One of the analysis's files, named after the competition, track and split."""
    found = _analysis(session, competition, track, user, split)
    stem, kind = name.split(".")
    filename = f"{competition.slug}-{track.name}-{found.split}-{stem}.{kind}"
    if name == "scores.csv":
        return csv_download(filename, *paper.score_rows(found))
    if name == "results.csv":
        return csv_download(filename, *paper.result_rows(found))
    if name == "results.tex":
        caption = f"{competition.title}, {track.title or track.name}: {found.split} leaderboard"
        label = f"tab:{competition.slug}-{track.name}-{found.split}"
        body: str | bytes = paper.latex_table(found, caption, label)
    else:
        figure = paper.chart(found, _chart_title(competition, track, found))
        body = to_svg(figure, standalone=True) if kind == "svg" else to_png(figure)
    return Response(body, media_type=MEDIA[kind], headers=attachment(filename))


def _chart_title(competition: Competition, track: Track, found: statistics.Analysis) -> str:
    return f"{track.title or track.name} ({found.split}): {paper.heading(found)}"


def _tabs(session: Session, competition: Competition, user: User | None) -> dict[str, Any]:
    """What the pages' tabs need: the tracks and the splits the viewer may see."""
    splits = visibility.splits_of(session, competition)
    return {
        "tracks": tracks_of(session, competition),
        "splits": [s for s in splits if visibility.may_see(session, competition, s, user)],
    }


@pages.get("/competitions/{slug}/tracks/{track}/statistics")
def statistics_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeUser,
    split: Split = "dev",
) -> Response:
    """The track's figures beside every track's, entries per day, and the best score over
    time on the split (when the viewer may see it)."""
    tabs = _tabs(session, competition, user)
    visible = split in tabs["splits"]
    ladder = visible and service.laddered(session, competition, split, user)
    best = (
        statistics.best_over_time(session, competition, track, split, ladder=ladder)
        if visible
        else []
    )
    rules = rules_of(competition, track)
    name = track.title or track.name
    context = {
        **tabs,
        "competition": competition,
        "track": track,
        "user": user,
        "split": split,
        "view": "statistics",
        "visible": visible,
        "ladder": ladder,
        "best": best,
        "figures": [(t, statistics.counts(session, competition, t)) for t in tabs["tracks"]],
        "per_day": Markup(
            to_svg(
                per_day_chart(statistics.per_day(session, track), title=f"{name}: entries per day")
            )
        ),
        "best_chart": Markup(
            to_svg(
                best_chart(
                    [(b.at, b.score) for b in best],
                    title=f"{name}: best score ({split})",
                    y_label=rules.words[:1].upper() + rules.words[1:],
                )
            )
        )
        if visible
        else None,
    }
    return templates.TemplateResponse(request, "leaderboard/statistics.html", context)


@pages.get("/competitions/{slug}/tracks/{track}/analysis")
def analysis_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeUser,
    split: MaybeSplit = None,
) -> Response:
    """Each scenario's ranking metric across participants as a chart, with its downloads and
    the results export for a paper; a hidden split says when it appears."""
    tabs = _tabs(session, competition, user)
    split = split or _default_split(session, competition, user)
    context: dict[str, Any] = {
        **tabs,
        "competition": competition,
        "track": track,
        "user": user,
        "split": split,
        "view": "analysis",
        "visible": split in tabs["splits"],
        "ladder": service.laddered(session, competition, split, user),
    }
    if context["visible"] and not context["ladder"]:
        found = _analysis(session, competition, track, user, split)
        spreads = found.spreads()
        context |= {
            "found": found,
            "spreads": spreads,
            "hardest": hardest(spreads),
            "metric": paper.heading(found),
            "chart": Markup(to_svg(paper.chart(found, _chart_title(competition, track, found)))),
        }
    return templates.TemplateResponse(request, "leaderboard/analysis.html", context)


router = APIRouter()  # both, for app/main.py to include in one line
router.include_router(pages, include_in_schema=False)
router.include_router(api)
