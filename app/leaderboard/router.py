"""Leaderboards (page, JSON and CSV) and the organizers' reveal of the hidden splits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from app.auth.dependencies import MaybeApiUser, MaybeUser
from app.competitions import visibility
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer, TrackDep
from app.competitions.registrations import organizes, tracks_of
from app.core import jobs
from app.core.csrf import CSRF_CHECKED
from app.core.db import SessionDep
from app.core.downloads import csv_download, spreadsheet_safe
from app.core.errors import NotFound
from app.core.forms import done
from app.core.openapi import problems, with_csv
from app.core.templating import templates
from app.leaderboard import boards, service
from app.models.competition import Competition
from app.models.track import Track

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["leaderboard"], responses=problems(401, 404, 422))
Split = Annotated[str, Query(max_length=16, description="dev, or final once revealed")]
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="the table's page, from 1")]


class EntryOut(BaseModel):
    """One participant's (or team's) row."""

    rank: int
    participant: str
    submission_id: int
    ranking_score: float
    submitted_at: str
    submissions: int
    scenarios: dict[str, dict[str, float]]
    revealed_rank: int | None
    ci_low: float | None = Field(
        description="the ranking score's 95% cluster-bootstrap interval (resampling models, "
        "then keeping their challenge points); null until computed, and always under the Ladder"
    )
    ci_high: float | None
    rank_low: int | None = Field(
        None,
        description="the 95% range of the row's rank over the same bootstrap replicates as "
        "every other row's; null until computed, under the Ladder and for mean ranks",
    )
    rank_high: int | None = None
    group: int | None = Field(
        None,
        description="rows the data cannot tell apart share a group (1: the leader's): a row "
        "joins the group above while its rank interval overlaps the group's first row's",
    )


class LeaderboardOut(BaseModel):
    """A track's ranking on one split."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "split": "dev",
                    "entries": [
                        {
                            "rank": 1,
                            "participant": "ada",
                            "submission_id": 17,
                            "ranking_score": 0.3144,
                            "submitted_at": "2026-12-01T21:00:00+00:00",
                            "submissions": 3,
                            "scenarios": {"cifar10_hi": {"TPR_FPR_1000": 0.31, "AUC": 0.66}},
                            "revealed_rank": None,
                            "ci_low": 0.281,
                            "ci_high": 0.349,
                            "rank_low": 1,
                            "rank_high": 3,
                            "group": 1,
                        }
                    ],
                }
            ]
        }
    )

    split: str
    entries: list[EntryOut]


@api.get(
    "/competitions/{slug}/tracks/{track}/leaderboard",
    response_model=LeaderboardOut,
    responses={
        **with_csv("the leaderboard: JSON, or CSV with `?format=csv`"),
        **problems(404, _404="no such track or split, or hidden until the organizers reveal it"),
    },
)
def leaderboard_api(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeApiUser,
    split: Split = "dev",
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """The ranking of a track on a split: `?format=csv` downloads the same rows."""
    visibility.require_split(session, competition, split, user)
    exact = not service.laddered(session, competition, split, user)
    board = _board(request, competition, track, split, exact)
    if format == "csv":
        return _csv(board, f"{competition.slug}-{track.name}-{split}.csv")
    return Response(board.json, media_type="application/json")


def _board(
    request: Request, competition: Competition, track: Track, split: str, exact: bool
) -> boards.Board:
    """The board from this process's cache and sessions."""
    state = request.app.state
    return boards.board_of(state.session_factory, state.standings, competition, track, split, exact)


def _csv(board: boards.Board, filename: str) -> Response:
    """The board's rows, each scenario's metrics as the definition shows them; a cell of a
    scenario the row's submission left out (an optional one) is empty."""
    entries, metrics = board.entries, board.rules.metrics
    scenarios = sorted({name for e in entries for name in e.scenarios})
    header = [
        "rank",
        "participant",
        "submission_id",
        "ranking_score",
        "ci_low",
        "ci_high",
        "rank_low",
        "rank_high",
        "group",
        "submitted_at",
        "submissions",
        *(f"{s}:{m}" for s in scenarios for m in metrics),
    ]
    rows = (
        [
            e.rank,
            spreadsheet_safe(e.participant),
            e.submission_id,
            repr(e.ranking_score),
            _cell(e.ci_low),
            _cell(e.ci_high),
            _cell(e.rank_low),
            _cell(e.rank_high),
            _cell(e.group),
            e.submitted_at.isoformat(),
            e.submissions,
            *(_cell(e.scenarios.get(s, {}).get(m)) for s in scenarios for m in metrics),
        ]
        for e in entries
    )
    return csv_download(filename, header, rows)


def _cell(value: float | int | None) -> str:
    """A number exactly, or nothing when absent."""
    return "" if value is None else repr(value)


@pages.get("/competitions/{slug}/tracks/{track}/leaderboard")
def leaderboard_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    track: TrackDep,
    user: MaybeUser,
    split: Split = "dev",
    page: PageNumber = 1,
    rows_only: bool = False,
) -> Response:
    """The leaderboard, a page of rows at a time, the viewer's own marked; a hidden split
    says when it appears. `rows_only`: the live refresh of the page's rows."""
    splits = visibility.splits_of(session, competition)
    visible = split in splits and visibility.may_see(session, competition, split, user)
    ladder = service.laddered(session, competition, split, user)
    board = _board(request, competition, track, split, not ladder) if visible else None
    rows = Markup("")
    if board is not None:
        if page > board.last_page:
            raise NotFound(
                f"The {split} leaderboard has {board.last_page} "
                f"page{'s' if board.last_page != 1 else ''}; page {page} is past its end"
            )
        own = service.own_rows(session, track, user, board.entries) if user else set()
        rows = board.rows(page, own)
    if rows_only:
        return HTMLResponse(rows)
    context: dict[str, Any] = {
        "competition": competition,
        "track": track,
        "tracks": tracks_of(session, competition),
        "user": user,
        "split": split,
        "page": page,
        "splits": [s for s in splits if visibility.may_see(session, competition, s, user)],
        "visible": visible,
        "rows": rows,
        "organizer": organizes(session, competition, user),
        "hidden_splits": [s for s in splits if visibility.hidden(session, competition, s)],
        "ladder": ladder,
        "ranked_by": board.rules.sentence if board else "",
    }
    if board and board.charts:
        context["charts"] = board.charts
    return templates.TemplateResponse(request, "leaderboard/show.html", context)


@pages.post("/competitions/{slug}/reveal", dependencies=CSRF_CHECKED)
def reveal_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    records = service.reveal(session, competition, user)
    jobs.after_commit(session, request.app.state.standings.clear)  # no one sees the old
    tracks = len({r.track_id for r in records})
    splits = " and ".join(sorted({r.split for r in records}))
    message = (
        f"Final results revealed: {tracks} track{'s' if tracks != 1 else ''}; "
        f"the {splits} leaderboard is shown to everyone now"
    )
    return done(request, f"/competitions/{competition.slug}#tracks", message)


@pages.post("/competitions/{slug}/hide", dependencies=CSRF_CHECKED)
def hide_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    service.hide(session, competition, user)
    jobs.after_commit(session, request.app.state.standings.clear)  # no one sees the old
    message = "Final results hidden again: only organizers see them until the next reveal"
    return done(request, f"/competitions/{competition.slug}#tracks", message)


class RevealOut(BaseModel):
    """What a reveal showed: when, and how many rows each track's revealed ranking keeps."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "competition": "mico",
                    "revealed_at": "2026-12-01T21:00:00+00:00",
                    "tracks": {"cifar10": 42, "ddp": 17},
                }
            ]
        }
    )

    competition: str
    revealed_at: str
    tracks: dict[str, int]


@api.post(
    "/admin/competitions/{slug}/reveal",
    response_model=RevealOut,
    tags=["admin"],
    responses=problems(403, 422, _422="nothing is hidden to reveal"),
)
def reveal_api(
    request: Request, session: SessionDep, competition: CompetitionDep, user: ApiOrganizer
) -> RevealOut:
    """Show the hidden splits (MICO's final) to everyone, and keep the ranking as revealed."""
    records = service.reveal(session, competition, user)
    jobs.after_commit(session, request.app.state.standings.clear)  # no one sees the old
    return RevealOut(
        competition=competition.slug,
        revealed_at=records[0].revealed_at.isoformat(),
        tracks={session.get_one(Track, r.track_id).name: len(r.entries) for r in records},
    )


@api.post(
    "/admin/competitions/{slug}/hide", status_code=204, tags=["admin"], responses=problems(403)
)
def hide_api(
    request: Request, session: SessionDep, competition: CompetitionDep, user: ApiOrganizer
) -> Response:
    """Hide the revealed splits again."""
    service.hide(session, competition, user)
    jobs.after_commit(session, request.app.state.standings.clear)  # no one sees the old
    return Response(status_code=204)
