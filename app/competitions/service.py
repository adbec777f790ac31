"""Competitions: reading one's definition, listing them, and MICO's import from its official
ground-truth tree (a use of `creation`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from app.competitions import audit, creation
from app.competitions.creation import store_labels
from app.competitions.phases import Timeline, timeline
from app.core.errors import Invalid
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.scenario import Scenario
from app.models.submission import Submission
from app.models.track import Track
from app.scoring.definition import MICO, Definition
from app.scoring.definition import Track as DefinedTrack
from app.scoring.problems import InvalidInput
from app.scoring.readers import GroundTruth, read_truth

__all__ = ["HIDDEN_SPLITS", "ImportReport", "definition_of", "import_mico", "store_labels"]
HIDDEN_SPLITS = ("dev", "final")  # MICO's: train labels are public, participants have them


@dataclass
class ImportReport:
    """What an import did, in numbers only: never a label."""

    competition: Competition
    created: bool
    tracks: list[str]
    scenarios: int = 0
    truth_added: int = 0
    truth_changed: int = 0
    truth_unchanged: int = 0
    phases_added: list[str] = field(default_factory=list)


def import_mico(
    session: Session,
    truth_path: Path,
    *,
    slug: str = "mico",
    title: str | None = None,
    definition: Definition = MICO,
    now: datetime | None = None,
) -> ImportReport:
    """Create (or update) a MICO-shaped competition from an official ground-truth tree.

    Every track found gets its scenarios and the dev and final labels; a new competition also
    gets MICO's two phases. Running it again updates the labels and duplicates nothing.
    """
    labels = read_labels(truth_path, definition)
    competition = session.scalar(select(Competition).where(Competition.slug == slug))
    plan = creation.preview(
        session,
        definition,
        labels,
        slug=slug,
        title=title or (competition.title if competition else None),
        existing=True,
    )
    report = ImportReport(
        competition or creation.new_competition(session, slug, plan.title, definition),
        created=competition is None,
        tracks=list(labels.tracks),
    )
    if title and not report.created:
        report.competition.title = title
    counts = creation.store_truth(session, report.competition, plan)
    report.scenarios = sum(len(t.scenarios) for t in plan.tracks)
    report.truth_added, report.truth_changed = counts["added"], counts["changed"]
    report.truth_unchanged = counts["unchanged"]
    if report.created:
        report.phases_added = creation.add_phases(
            session, report.competition, plan.phases, definition, now or utcnow()
        )
    audit.record(
        session,
        report.competition,
        None,
        "competition.import-mico",
        {
            "tracks": report.tracks,
            "truth_added": report.truth_added,
            "truth_changed": report.truth_changed,
        },
    )
    return report


def read_labels(path: Path, definition: Definition) -> GroundTruth:
    """Ground truth from a folder or zip on disk; Invalid listing every problem otherwise."""
    try:
        return read_truth(path, definition=definition)
    except InvalidInput as exc:
        raise Invalid("the ground truth is not valid:\n" + str(exc)) from None


def definition_of(competition: Competition) -> Definition:
    """How a competition's submissions are read and scored: the definition it was created from
    (MICO's built-in one for those made by import-mico), with the tracks, scenarios and points
    per model stored in the database, as organizers add and rename them. A stored track keeps
    the definition's optional scenarios and ranking aggregate; a track the definition does not
    name has every scenario required, averaged.

    The competition must belong to a session (the one its tracks are read with)."""
    session = object_session(competition)
    if session is None:
        raise RuntimeError("definition_of needs a competition attached to a session")
    base = MICO if competition.definition is None else _stored(competition.definition)
    scenarios: dict[tuple[str, str], list[str]] = {}
    for track, title, scenario in session.execute(
        select(Track.name, Track.title, Scenario.name)
        .join(Scenario, Scenario.track_id == Track.id)
        .where(Track.competition_id == competition.id)
        .order_by(Track.name)
    ).tuples():
        scenarios.setdefault((track, title), []).append(scenario)
    defined = {t.name: t for t in base.tracks}
    return replace(
        base,
        slug=competition.slug,
        title=competition.title,
        points_per_model=competition.points_per_model,
        tracks=tuple(_track(defined.get(n), n, t, s) for (n, t), s in scenarios.items()),
    )


def _track(spec: DefinedTrack | None, name: str, title: str, scenarios: list[str]) -> DefinedTrack:
    if spec is None:
        return DefinedTrack(name, tuple(scenarios), title)
    return DefinedTrack(name, tuple(scenarios), title, spec.optional & set(scenarios), spec.ranking)


def _stored(data: dict[str, object]) -> Definition:
    """A stored definition, parsed once per process for each text it has had."""
    return _parsed(json.dumps(data, sort_keys=True))


@lru_cache(maxsize=64)
def _parsed(text: str) -> Definition:
    return Definition.from_dict(json.loads(text))


def phases_of(session: Session, competition: Competition) -> list[Phase]:
    """The competition's phases, in the order they were made."""
    return list(
        session.scalars(
            select(Phase).where(Phase.competition_id == competition.id).order_by(Phase.id)
        )
    )


@dataclass(frozen=True)
class Summary:
    """A competition as the home page lists it."""

    competition: Competition
    timeline: Timeline
    participants: int
    entries: int


def summaries(session: Session, now: datetime) -> list[Summary]:
    """Every competition, newest first, with its phases, approved participants and entries
    (submissions): four queries, however many competitions there are."""
    competitions = list(session.scalars(select(Competition).order_by(Competition.id.desc())))
    phases: dict[int, list[Phase]] = {}
    for phase in session.scalars(select(Phase).order_by(Phase.id)):
        phases.setdefault(phase.competition_id, []).append(phase)
    participants = dict(
        session.execute(
            select(Registration.competition_id, func.count())
            .where(Registration.status == RegistrationStatus.APPROVED)
            .group_by(Registration.competition_id)
        )
        .tuples()
        .all()
    )
    entries = dict(
        session.execute(
            select(Track.competition_id, func.count(Submission.id))
            .join(Submission, Submission.track_id == Track.id)
            .group_by(Track.competition_id)
        )
        .tuples()
        .all()
    )
    return [
        Summary(
            c, timeline(phases.get(c.id, []), now), participants.get(c.id, 0), entries.get(c.id, 0)
        )
        for c in competitions
    ]
