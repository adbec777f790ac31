"""A competition's results, as announced after the reveal: per track the awards organizers
gave (each naming an entry of the final leaderboard, with its method and links) beside that
leaderboard. Nothing of it is shown before the reveal: the final split stays hidden until then,
and a results page before the announcement says only that there are none yet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.competitions.registrations import tracks_of
from app.competitions.visibility import phases_of, splits_of
from app.core.errors import NotFound
from app.leaderboard.service import Entry, standings
from app.models.award import Award
from app.models.competition import Competition
from app.models.submission import Submission
from app.models.track import Track
from app.submissions.methods import Method, method_of


@dataclass(frozen=True)
class AwardView:
    """One announced award: its title and the submission it went to (None: not awarded), that
    submission's row of the final leaderboard (None if it has left it since: disqualified)
    and its method and links."""

    title: str
    submission_id: int | None
    entry: Entry | None
    method: Method | None


@dataclass(frozen=True)
class TrackResults:
    """A track's awards and final leaderboard, each row with its method and links."""

    track: Track
    split: str
    awards: list[AwardView]
    entries: list[Entry]
    methods: dict[int, Method]


def final_split(session: Session, competition: Competition) -> str | None:
    """The split the results rank on: the first that no phase shows (MICO's final, hidden
    until the reveal), or else the last one scored."""
    phases = phases_of(session, competition)
    splits = splits_of(session, competition)
    unshown = [s for s in splits if not any(s in p.shown_splits for p in phases)]
    if unshown:
        return unshown[0]
    return splits[-1] if splits else None


def awards_of(session: Session, track: Track) -> list[Award]:
    """The track's announced awards, in the order they are shown."""
    return list(
        session.scalars(select(Award).where(Award.track_id == track.id).order_by(Award.position))
    )


def announced(session: Session, competition: Competition) -> bool:
    """True once the final results are revealed and some award is announced."""
    if competition.revealed_at is None:
        return False
    return (
        session.scalar(select(Award.id).where(Award.competition_id == competition.id).limit(1))
        is not None
    )


# A track's rows on a split, from wherever they are kept (a process's leaderboard cache).
Ranked = Callable[[Track, str], list[Entry]]


def track_results(
    session: Session, competition: Competition, track: Track, ranked: Ranked | None = None
) -> TrackResults:
    """A track's awards and final leaderboard (exact: the reveal shows the final split as it
    is), with every row's method and links; `ranked` gives the rows when they are kept."""
    split = final_split(session, competition)
    if split is None:
        entries: list[Entry] = []
    elif ranked is not None:
        entries = ranked(track, split)
    else:
        entries = standings(session, competition, track, split)
    by_id = {e.submission_id: e for e in entries}
    awards = awards_of(session, track)
    ids = list(by_id) + [a.submission_id for a in awards if a.submission_id is not None]
    methods = {
        s.id: method_of(s)
        for s in session.scalars(select(Submission).where(Submission.id.in_(ids)))
    }
    return TrackResults(
        track=track,
        split=split or "",
        awards=[
            AwardView(
                a.title,
                a.submission_id,
                by_id.get(a.submission_id) if a.submission_id is not None else None,
                methods.get(a.submission_id) if a.submission_id is not None else None,
            )
            for a in awards
        ],
        entries=entries,
        methods=methods,
    )


def results(
    session: Session, competition: Competition, ranked: Ranked | None = None
) -> list[TrackResults]:
    """Every track's results, once announced; NotFound before (the same answer whether the
    final split is still hidden or no award is announced yet)."""
    if not announced(session, competition):
        raise NotFound(f"the results of {competition.title} are not announced yet")
    return [track_results(session, competition, t, ranked) for t in tracks_of(session, competition)]
