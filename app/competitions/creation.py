"""A new competition from a definition and its ground truth: first what was found (a preview,
nothing stored), then, in one transaction, the competition, its tracks, scenarios, labels and
phases as the definition says. `import-mico` is one use of it (MICO's built-in definition).

The labels the competition keeps are those of the splits its phases carry (MICO and MIDST: dev
and final); train labels are public and never stored. The last phase's splits that no earlier
phase shows (MICO's and MIDST's final) stay hidden until the organizers reveal them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.competitions import audit
from app.core.errors import Conflict, Invalid
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import LeaderboardPolicy, Phase
from app.models.scenario import Scenario
from app.models.track import Track
from app.models.user import User
from app.scoring.definition import MICO, Definition
from app.scoring.readers import GroundTruth as Labels

Row = TypeVar("Row", Track, Scenario)
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
SLUG_RULE = "lowercase letters, digits and '-', starting with a letter or digit, at most 64"
UNLIMITED = 1_000_000  # a limit the definition leaves open: the largest the phases form takes
MAX_TITLE = 200


@dataclass(frozen=True)
class SplitFound:
    """One scenario's split in the ground truth: how many models and labels, and members."""

    split: str
    models: int
    labels: int
    members: int


@dataclass(frozen=True)
class ScenarioFound:
    """A scenario (model type) of a track, whether a submission may leave it out, its splits."""

    name: str
    optional: bool
    splits: tuple[SplitFound, ...]


@dataclass(frozen=True)
class TrackFound:
    """A track the ground truth holds, and how its score is made from its scenarios."""

    name: str
    title: str
    ranking: str
    scenarios: tuple[ScenarioFound, ...]


@dataclass(frozen=True)
class PhaseFound:
    """A phase as it will be stored."""

    name: str
    accepts_uploads: bool
    opens_now: bool
    scored_splits: tuple[str, ...]
    shown_splits: tuple[str, ...]
    max_per_day: int
    max_total: int


@dataclass(frozen=True)
class Preview:
    """What a definition and its ground truth make, in numbers only (never a label): shown to
    the organizer before anything is stored, and the plan `create` stores."""

    slug: str
    title: str
    definition: Definition
    tracks: tuple[TrackFound, ...]
    phases: tuple[PhaseFound, ...]
    truth_sha256: str  # of the stored splits' packed labels, in track, scenario, split order
    labels: Labels = field(repr=False, compare=False)

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits whose labels are stored."""
        return hidden_splits(self.definition)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the API (counts, never labels)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "definition": self.definition.slug,
            "ranking_key": self.definition.ranking_key,
            "points_per_model": self.definition.points_per_model,
            "splits": list(self.splits),
            "tracks": [
                {
                    "name": t.name,
                    "title": t.title,
                    "ranking": t.ranking,
                    "scenarios": [
                        {
                            "name": s.name,
                            "optional": s.optional,
                            "splits": [vars(f) for f in s.splits],
                        }
                        for s in t.scenarios
                    ],
                }
                for t in self.tracks
            ],
            "phases": [
                vars(p)
                | {"scored_splits": list(p.scored_splits), "shown_splits": list(p.shown_splits)}
                for p in self.phases
            ],
            "truth_sha256": self.truth_sha256,
        }


def hidden_splits(definition: Definition) -> tuple[str, ...]:
    """The splits whose labels a competition keeps: those its phases carry (else the splits a
    submission must hold), in definition order. MICO: dev and final."""
    carried = {s for p in definition.phases for s in p.carries} or set(definition.required_splits)
    return tuple(s for s in definition.split_names if s in carried)


def preview(
    session: Session,
    definition: Definition,
    labels: Labels,
    *,
    slug: str | None = None,
    title: str | None = None,
    existing: bool = False,
) -> Preview:
    """What creating the competition would store, checked whole: a slug free (or, with
    `existing`, any), a title, labels for every hidden split of every scenario of each track
    the ground truth holds, and phases. Invalid or Conflict naming the fault otherwise."""
    slug = (slug or definition.slug).strip()
    title = (title or definition.title).strip()
    if not SLUG.fullmatch(slug):
        raise Invalid(f"the slug '{slug[:80]}' is not valid: {SLUG_RULE} characters")
    if not title or len(title) > MAX_TITLE:
        raise Invalid(f"the title must be 1 to {MAX_TITLE} characters")
    if not existing and session.scalar(select(Competition.id).where(Competition.slug == slug)):
        raise Conflict(
            f"a competition called '{slug}' exists already; choose another slug (its ground "
            "truth is replaced on its Ground truth page)"
        )
    splits = hidden_splits(definition)
    _require_splits(labels, definition, splits)
    tracks = tuple(_track_found(definition, name, labels, splits) for name in labels.tracks)
    return Preview(
        slug=slug,
        title=title,
        definition=definition,
        tracks=tracks,
        phases=phases_found(definition),
        truth_sha256=_digest(labels, tracks, splits),
        labels=labels,
    )


def create(
    session: Session, plan: Preview, now: datetime, actor: User | None = None
) -> Competition:
    """Store the previewed competition: tracks, scenarios, labels and phases, audited."""
    competition = new_competition(session, plan.slug, plan.title, plan.definition)
    store_truth(session, competition, plan)
    add_phases(session, competition, plan.phases, plan.definition, now)
    audit.record(
        session,
        competition,
        actor,
        "competition.create",
        {
            "definition": plan.definition.slug,
            "tracks": [t.name for t in plan.tracks],
            "truth_sha256": plan.truth_sha256,
        },
    )
    return competition


def new_competition(session: Session, slug: str, title: str, definition: Definition) -> Competition:
    """The competition's row, with pages saying how it is ranked (organizers edit them)."""
    mico = definition is MICO
    competition = Competition(
        slug=slug,
        title=title,
        points_per_model=definition.points_per_model,
        definition=None if mico else definition.to_dict(),
        overview_md=(
            "Attack the published models: for each challenge point, say how likely it is that it "
            "was a member of the model's training set. Tracks are ranked separately."
        ),
        evaluation_md=(
            "Ranked by the mean TPR at 10% FPR over each track's scenarios."
            if mico
            else _evaluation(definition)
        ),
    )
    try:  # a slug taken at the same moment by another organizer: a refusal, not a 500
        with session.begin_nested():
            session.add(competition)
    except IntegrityError:
        raise Conflict(
            f"a competition called '{slug}' was just created; choose another slug"
        ) from None
    return competition


def store_truth(session: Session, competition: Competition, plan: Preview) -> dict[str, int]:
    """The tracks and scenarios the ground truth holds and their hidden splits' labels: how
    many splits were `added`, `changed` and `unchanged`. Running it again duplicates nothing."""
    counts = {"added": 0, "changed": 0, "unchanged": 0}
    for found in plan.tracks:
        track = _get_or_add(
            session, Track, {"title": found.title}, competition_id=competition.id, name=found.name
        )
        for scenario_found in found.scenarios:
            scenario = _get_or_add(
                session, Scenario, {}, track_id=track.id, name=scenario_found.name
            )
            for split in plan.splits:
                labels = plan.labels.labels[scenario_found.name, split]
                counts[store_labels(session, scenario, split, labels, plan.definition)] += 1
    return counts


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


def phases_found(definition: Definition) -> tuple[PhaseFound, ...]:
    """The definition's phases as they will be stored. The first that takes uploads opens at
    once, the others wait for the organizers; a phase without uploads ranks (scores) the
    splits it shows; the last phase's splits no earlier phase shows stay hidden until the
    reveal; a limit the definition leaves open is UNLIMITED."""
    specs = definition.phases or MICO.phases
    if not specs:
        raise Invalid("the definition has no phases; add at least one")
    first = next((p.name for p in specs if p.uploads), None)
    shown_before: set[str] = set()
    found = []
    for i, spec in enumerate(specs):
        last = i == len(specs) - 1
        shown = tuple(s for s in spec.shown if not last or s in shown_before)
        found.append(
            PhaseFound(
                name=spec.name,
                accepts_uploads=spec.uploads,
                opens_now=spec.name == first,
                scored_splits=spec.carries if spec.uploads else spec.shown,
                shown_splits=shown,
                max_per_day=UNLIMITED if spec.per_day is None else spec.per_day,
                max_total=UNLIMITED if spec.total is None else spec.total,
            )
        )
        shown_before.update(spec.shown)
    unknown = {s for p in found for s in p.scored_splits} - set(definition.split_names)
    if unknown:
        raise Invalid(f"the definition's phases name splits it does not define: {sorted(unknown)}")
    return tuple(found)


def add_phases(
    session: Session,
    competition: Competition,
    phases: tuple[PhaseFound, ...],
    definition: Definition,
    now: datetime,
) -> list[str]:
    """Store the phases; their names, in order."""
    rows = [
        Phase(
            competition_id=competition.id,
            name=p.name,
            starts_at=now if p.opens_now else None,
            accepts_uploads=p.accepts_uploads,
            scored_splits=list(p.scored_splits),
            shown_splits=list(p.shown_splits),
            max_per_day=p.max_per_day,
            max_total=p.max_total,
            max_bytes=definition.max_submission_bytes,
            leaderboard_policy=LeaderboardPolicy.LATEST,
        )
        for p in phases
    ]
    session.add_all(rows)
    session.flush()
    return [p.name for p in rows]


def _require_splits(labels: Labels, definition: Definition, splits: tuple[str, ...]) -> None:
    """Refuse ground truth without the hidden splits of every scenario of its tracks."""
    if not labels.tracks:
        raise Invalid("the ground truth holds no labels of any track of the definition")
    missing = [
        f"{track}/{scenario}/{split}/"
        for track in labels.tracks
        for scenario in definition.track(track).scenarios
        for split in splits
        if (scenario, split) not in labels.labels
    ]
    if missing:
        shown = ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "")
        needed = " and ".join(splits)
        raise Invalid(f"the ground truth has no labels for {shown}; {needed} are needed")


def _track_found(
    definition: Definition, name: str, labels: Labels, splits: tuple[str, ...]
) -> TrackFound:
    spec = definition.track(name)
    ppm = definition.points_per_model
    return TrackFound(
        name=spec.name,
        title=spec.title,
        ranking=spec.ranking,
        scenarios=tuple(
            ScenarioFound(
                scenario,
                scenario in spec.optional,
                tuple(
                    SplitFound(
                        split,
                        (values := labels.labels[scenario, split]).size // ppm,
                        values.size,
                        int(values.sum()),
                    )
                    for split in splits
                ),
            )
            for scenario in spec.scenarios
        ),
    )


def _digest(labels: Labels, tracks: tuple[TrackFound, ...], splits: tuple[str, ...]) -> str:
    """SHA-256 of the labels to be stored, packed as stored, in a fixed order."""
    digest = hashlib.sha256()
    for track in tracks:
        for scenario in track.scenarios:
            for split in splits:
                values = labels.labels[scenario.name, split]
                digest.update(np.packbits(values.astype(np.uint8)).tobytes())
    return digest.hexdigest()


def _evaluation(definition: Definition) -> str:
    """The evaluation page's first words: the ranking metric and how each track makes it."""
    metric = f"TPR at {definition.ranking_threshold:.0%} FPR"
    word = definition.scenario_word
    how = {
        "mean": f"the mean {metric} over its {word}s",
        "max": f"the best {metric} among the {word}s submitted (one left out is skipped)",
        "min": f"the lowest {metric} among its {word}s",
        "mean_rank": f"the mean rank of its {metric} over the {word}s (1 is best)",
    }
    lines = [f"- **{t.title or t.name}**: {how[t.ranking]}" for t in definition.tracks]
    return "Each track is ranked by:\n\n" + "\n".join(lines)


def _get_or_add(session: Session, model: type[Row], defaults: dict[str, Any], **keys: Any) -> Row:
    """The row of `model` with these key values, added (with `defaults`) when there is none."""
    row = session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **defaults)
        session.add(row)
        session.flush()
    return row
