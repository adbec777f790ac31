"""Competitions: building one, MICO's from its official ground-truth tree."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from app.competitions import audit
from app.competitions.phases import Timeline, timeline
from app.core.errors import Invalid
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import LeaderboardPolicy, Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.scenario import Scenario
from app.models.submission import Submission
from app.models.track import Track
from app.scoring.definition import MICO, Definition
from app.scoring.definition import Track as DefinedTrack
from app.scoring.problems import InvalidInput
from app.scoring.readers import read_truth

Row = TypeVar("Row", Track, Scenario)
HIDDEN_SPLITS = ("dev", "final")  # train labels are public: participants have them


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
    try:
        truth = read_truth(truth_path, definition=definition)
    except InvalidInput as exc:
        raise Invalid("the ground truth is not valid:\n" + str(exc)) from None
    _require_hidden_splits(truth.labels, truth.tracks, definition)
    competition = session.scalar(select(Competition).where(Competition.slug == slug))
    report = ImportReport(
        competition or _new_competition(session, slug, title, definition),
        created=competition is None,
        tracks=list(truth.tracks),
    )
    if title and not report.created:
        report.competition.title = title
    for spec in map(definition.track, truth.tracks):
        track = _get_or_add(
            session,
            Track,
            {"title": spec.title},
            competition_id=report.competition.id,
            name=spec.name,
        )
        for scenario_name in spec.scenarios:
            scenario = _get_or_add(session, Scenario, {}, track_id=track.id, name=scenario_name)
            report.scenarios += 1
            for split in HIDDEN_SPLITS:
                stored = store_labels(
                    session, scenario, split, truth.labels[scenario_name, split], definition
                )
                setattr(report, f"truth_{stored}", getattr(report, f"truth_{stored}") + 1)
    if report.created:
        report.phases_added = _mico_phases(session, report.competition, definition, now or utcnow())
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


def definition_of(competition: Competition) -> Definition:
    """How a competition's submissions are read and scored: MICO's splits, files and metrics
    (import-mico builds every competition so far), with the tracks, scenarios and points per
    model stored in the database, as organizers add and rename them.

    The competition must belong to a session (the one its tracks are read with)."""
    session = object_session(competition)
    if session is None:
        raise RuntimeError("definition_of needs a competition attached to a session")
    scenarios: dict[tuple[str, str], list[str]] = {}
    for track, title, scenario in session.execute(
        select(Track.name, Track.title, Scenario.name)
        .join(Scenario, Scenario.track_id == Track.id)
        .where(Track.competition_id == competition.id)
        .order_by(Track.name)
    ).tuples():
        scenarios.setdefault((track, title), []).append(scenario)
    return replace(
        MICO,
        slug=competition.slug,
        title=competition.title,
        points_per_model=competition.points_per_model,
        tracks=tuple(DefinedTrack(n, tuple(s), t) for (n, t), s in scenarios.items()),
    )


def _require_hidden_splits(
    labels: dict[tuple[str, str], NDArray[np.float64]],
    tracks: tuple[str, ...],
    definition: Definition,
) -> None:
    """Refuse a tree without the dev and final labels of every scenario of its tracks."""
    missing = [
        f"{track}/{scenario}/{split}/"
        for track in tracks
        for scenario in definition.track(track).scenarios
        for split in HIDDEN_SPLITS
        if (scenario, split) not in labels
    ]
    if missing:
        shown = ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "")
        raise Invalid(f"the ground truth has no labels for {shown}; dev and final are needed")


def _new_competition(
    session: Session, slug: str, title: str | None, definition: Definition
) -> Competition:
    competition = Competition(
        slug=slug,
        title=title or definition.title,
        points_per_model=definition.points_per_model,
        overview_md=(
            "Attack the published models: for each challenge point, say how likely it is that it "
            "was a member of the model's training set. Tracks are ranked separately."
        ),
        evaluation_md="Ranked by the mean TPR at 10% FPR over each track's scenarios.",
    )
    session.add(competition)
    session.flush()
    return competition


def _get_or_add(session: Session, model: type[Row], defaults: dict[str, Any], **keys: Any) -> Row:
    """The row of `model` with these key values, added (with `defaults`) when there is none."""
    row = session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **defaults)
        session.add(row)
        session.flush()
    return row


def store_labels(
    session: Session,
    scenario: Scenario,
    split: str,
    labels: NDArray[np.float64],
    definition: Definition,
) -> str:
    """Insert or update one scenario's split: `added`, `changed` or `unchanged` (left as it
    is)."""
    packed = np.packbits(labels.astype(np.uint8)).tobytes()
    models = labels.size // definition.points_per_model
    row = session.scalar(
        select(GroundTruth).where(
            GroundTruth.scenario_id == scenario.id, GroundTruth.split == split
        )
    )
    if row is None:
        session.add(
            GroundTruth(
                scenario_id=scenario.id,
                split=split,
                models=models,
                points_per_model=definition.points_per_model,
                packed_labels=packed,
            )
        )
        return "added"
    if row.packed_labels != packed or row.models != models:
        row.packed_labels, row.models = packed, models
        row.points_per_model = definition.points_per_model
        return "changed"
    return "unchanged"


def _mico_phases(
    session: Session, competition: Competition, definition: Definition, now: datetime
) -> list[str]:
    """MICO's phases: Development open now (dev shown, final withheld), Final closed."""
    limits = {
        "max_per_day": 30,
        "max_total": 1000,
        "max_bytes": definition.max_submission_bytes,
        "leaderboard_policy": LeaderboardPolicy.LATEST,
    }
    phases = [
        Phase(
            competition_id=competition.id,
            name="Development",
            starts_at=now,
            accepts_uploads=True,
            scored_splits=list(HIDDEN_SPLITS),
            shown_splits=["dev"],
            **limits,
        ),
        Phase(
            competition_id=competition.id,
            name="Final",
            starts_at=None,
            accepts_uploads=False,
            scored_splits=["final"],
            shown_splits=[],
            **limits,
        ),
    ]
    session.add_all(phases)
    session.flush()
    return [p.name for p in phases]


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
