"""A competition's tracks and scenarios as organizers shape them. Names are folder names in the
participants' zips and parts of URLs, so they change only while nothing depends on them: a
track's scenarios are fixed once it has submissions, and a track or scenario is removed only
when it has neither submissions nor ground truth. Every change goes to the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.competitions import audit
from app.competitions.registrations import tracks_of
from app.competitions.service import definition_of
from app.core.errors import Conflict, Invalid, NotFound
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.scenario import Scenario
from app.models.submission import Submission
from app.models.track import Track
from app.models.user import User

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_RULE = (
    "lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"
)
MAX_TITLE = 200
MAX_SCENARIOS = 20
MAX_TRACKS = 50


@dataclass(frozen=True)
class Truth:
    """What is stored for one scenario's split: sizes and time, never a label."""

    models: int
    points_per_model: int
    updated_at: datetime


@dataclass(frozen=True)
class ScenarioView:
    """A scenario and, for each split, its stored ground truth (None: missing)."""

    scenario: Scenario
    truth: dict[str, Truth | None]

    @property
    def has_truth(self) -> bool:
        """True when some split of the scenario has labels stored."""
        return any(t is not None for t in self.truth.values())


@dataclass(frozen=True)
class TrackView:
    """A track as the organizers' page shows it."""

    track: Track
    scenarios: list[ScenarioView]
    submissions: int

    @property
    def locked(self) -> bool:
        """Scenarios are fixed once submissions were read with them."""
        return self.submissions > 0

    @property
    def removable(self) -> bool:
        """Only a track with neither submissions nor ground truth may go."""
        return not self.locked and not any(s.has_truth for s in self.scenarios)


def overview(session: Session, competition: Competition) -> tuple[list[str], list[TrackView]]:
    """The splits that need ground truth, and every track with its scenarios, ground truth
    (present or missing, sizes, time) and number of submissions."""
    tracks = tracks_of(session, competition)
    ids = [t.id for t in tracks]
    scenarios = list(
        session.scalars(select(Scenario).where(Scenario.track_id.in_(ids)).order_by(Scenario.name))
    )
    stored: dict[int, dict[str, Truth]] = {}
    for scenario_id, split, models, points, updated in session.execute(
        # Column by column: the packed labels are never loaded here.
        select(
            GroundTruth.scenario_id,
            GroundTruth.split,
            GroundTruth.models,
            GroundTruth.points_per_model,
            GroundTruth.updated_at,
        ).where(GroundTruth.scenario_id.in_([s.id for s in scenarios]))
    ).tuples():
        stored.setdefault(scenario_id, {})[split] = Truth(models, points, updated)
    required = definition_of(competition).required_splits
    splits = list(dict.fromkeys([*required, *(s for t in stored.values() for s in t)]))
    counts: dict[int, int] = dict(
        session.execute(
            select(Submission.track_id, func.count(Submission.id))
            .where(Submission.track_id.in_(ids))
            .group_by(Submission.track_id)
        )
        .tuples()
        .all()
    )
    views = [
        TrackView(
            track,
            [
                ScenarioView(s, {split: stored.get(s.id, {}).get(split) for split in splits})
                for s in scenarios
                if s.track_id == track.id
            ],
            counts.get(track.id, 0),
        )
        for track in tracks
    ]
    return splits, views


def view_of(session: Session, competition: Competition, track: Track) -> TrackView:
    """One track's view."""
    return next(v for v in overview(session, competition)[1] if v.track.id == track.id)


def add_track(
    session: Session,
    competition: Competition,
    organizer: User,
    name: str,
    title: str,
    scenarios: Iterable[str],
) -> Track:
    """A new track with its scenarios; its name and theirs must be free in the competition."""
    name, title, names = name.strip(), _title(title), _names(scenarios)
    _check_name(name, "track")
    if not names:
        raise Invalid("give the new track at least one scenario")
    if len(tracks_of(session, competition)) >= MAX_TRACKS:
        raise Invalid(f"a competition has at most {MAX_TRACKS} tracks")
    if any(t.name == name for t in tracks_of(session, competition)):
        raise Invalid(f"{competition.title} already has a track '{name}'; choose another name")
    _check_free(session, competition, names)
    track = Track(competition_id=competition.id, name=name, title=title)
    _flush_new(session, track)
    for scenario in names:
        _flush_new(session, Scenario(track_id=track.id, name=scenario))
    audit.record(
        session,
        competition,
        organizer,
        "track.add",
        {"track": name, "title": title, "scenarios": names},
    )
    return track


def change_title(
    session: Session, competition: Competition, organizer: User, track: Track, title: str
) -> Track:
    """A track's title, shown to participants (the name stays: it is in zips and URLs)."""
    title = _title(title)
    if title != track.title:
        audit.record(
            session,
            competition,
            organizer,
            "track.title",
            {"track": track.name, "before": track.title, "after": title},
        )
        track.title = title
    return track


def add_scenarios(
    session: Session,
    competition: Competition,
    organizer: User,
    track: Track,
    scenarios: Iterable[str],
) -> list[str]:
    """New scenarios of a track that has no submissions yet."""
    names = _names(scenarios)
    if not names:
        raise Invalid("name the scenarios to add, e.g. cifar10_mid")
    view = view_of(session, competition, track)
    _require_unlocked(view, "add scenarios to")
    if len(view.scenarios) + len(names) > MAX_SCENARIOS:
        raise Invalid(f"a track has at most {MAX_SCENARIOS} scenarios")
    _check_free(session, competition, names)
    for name in names:
        _flush_new(session, Scenario(track_id=track.id, name=name))
    audit.record(
        session,
        competition,
        organizer,
        "scenario.add",
        {"track": track.name, "scenarios": names},
    )
    return names


def rename_scenario(
    session: Session,
    competition: Competition,
    organizer: User,
    track: Track,
    old: str,
    new: str,
) -> Scenario:
    """Rename a scenario of a track that has no submissions yet (its ground truth stays)."""
    view = view_of(session, competition, track)
    _require_unlocked(view, "rename the scenarios of")
    scenario = _scenario(view, old).scenario
    new = new.strip()
    if new == scenario.name:
        return scenario
    _check_name(new, "scenario")
    _check_free(session, competition, [new])
    audit.record(
        session,
        competition,
        organizer,
        "scenario.rename",
        {"track": track.name, "before": scenario.name, "after": new},
    )
    scenario.name = new
    _flush_new(session, scenario)
    return scenario


def remove_scenario(
    session: Session, competition: Competition, organizer: User, track: Track, name: str
) -> None:
    """Remove a scenario that has neither submissions (on its track) nor ground truth."""
    view = view_of(session, competition, track)
    _require_unlocked(view, "remove the scenarios of")
    found = _scenario(view, name)
    if found.has_truth:
        raise Conflict(
            f"scenario '{name}' has ground truth stored; it stays so that what was uploaded for "
            "it is not lost"
        )
    if len(view.scenarios) == 1:
        raise Conflict(f"'{name}' is the last scenario of {track.name}; remove the track instead")
    session.delete(found.scenario)
    audit.record(
        session, competition, organizer, "scenario.remove", {"track": track.name, "scenario": name}
    )
    session.flush()


def remove_track(session: Session, competition: Competition, organizer: User, track: Track) -> None:
    """Remove a track (and its scenarios) that has neither submissions nor ground truth."""
    view = view_of(session, competition, track)
    if not view.removable:
        what = f"{view.submissions} submissions" if view.locked else "ground truth stored"
        raise Conflict(f"track {track.name} has {what}; only an unused track can be removed")
    audit.record(
        session,
        competition,
        organizer,
        "track.remove",
        {"track": track.name, "scenarios": [s.scenario.name for s in view.scenarios]},
    )
    session.delete(track)
    session.flush()


def split_names(text: str) -> list[str]:
    """Scenario names typed in a form: separated by commas, spaces or lines."""
    return [n for n in re.split(r"[\s,]+", text) if n]


def _require_unlocked(view: TrackView, verb: str) -> None:
    if view.locked:
        raise Conflict(
            f"track {view.track.name} has {view.submissions} submissions: they were read and "
            f"scored with its scenarios as they are, so you cannot {verb} it any more"
        )


def _scenario(view: TrackView, name: str) -> ScenarioView:
    for scenario in view.scenarios:
        if scenario.scenario.name == name:
            return scenario
    known = ", ".join(s.scenario.name for s in view.scenarios)
    raise NotFound(f"track {view.track.name} has no scenario '{name[:64]}'; its scenarios: {known}")


def _title(title: str) -> str:
    title = title.strip()
    if len(title) > MAX_TITLE or "\x00" in title:
        raise Invalid(f"a track's title is at most {MAX_TITLE} characters, without NUL")
    return title


def _names(scenarios: Iterable[str]) -> list[str]:
    names = [n.strip() for n in scenarios if n.strip()]
    if len(names) > MAX_SCENARIOS:
        raise Invalid(f"a track has at most {MAX_SCENARIOS} scenarios")
    for name in names:
        _check_name(name, "scenario")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise Invalid(f"scenario names given twice: {', '.join(repeated)}")
    return names


def _check_name(name: str, what: str) -> None:
    if not NAME.fullmatch(name):
        shown = name[:64].encode("unicode_escape").decode()
        raise Invalid(f"'{shown}' is not a {what} name: use {NAME_RULE} (e.g. cifar10, cifar10_hi)")


def _check_free(session: Session, competition: Competition, names: list[str]) -> None:
    """Scenario names are unique in a competition: they are the zip's folders, and the scorer
    finds a scenario's track by its name."""
    taken = (
        session.execute(
            select(Scenario.name, Track.name)
            .join(Track, Track.id == Scenario.track_id)
            .where(Track.competition_id == competition.id, Scenario.name.in_(names))
        )
        .tuples()
        .all()
    )
    if taken:
        shown = ", ".join(f"'{s}' (in {t})" for s, t in taken)
        raise Invalid(f"scenario names are unique in a competition; taken already: {shown}")


def _flush_new(session: Session, row: Track | Scenario) -> None:
    """Write the row now; a name taken at the same moment by another organizer is a clear
    refusal, not a 500."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Invalid(f"'{row.name}' was just taken by another change; reload and retry") from None
