"""A track's ground truth for organizers: what is stored (shapes and digests, never a label),
replacing it from an uploaded zip, and how far the rescoring that follows has got.

A replacement is all or nothing: the zip is validated whole first (every problem listed,
nothing changed); then, in one transaction, the labels are stored, a `TruthVersion` records the
digests before and after, every submission of the track goes back to `queued` (sent to the
scorer once committed) and the audit log says who did it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.competitions import audit
from app.competitions.service import HIDDEN_SPLITS, definition_of, store_labels
from app.core.errors import Invalid, TooLarge
from app.core.jobs import Dispatcher
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import Phase
from app.models.scenario import Scenario
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.truth_version import TruthVersion
from app.models.user import User
from app.scoring.definition import Definition
from app.scoring.problems import InvalidInput
from app.scoring.readers import TRUTH_LIMITS, read_track_truth
from app.submissions.pipeline import rescore_track

QUIET_AFTER = timedelta(minutes=2)  # no submission finished for this long: is a worker up?


@dataclass(frozen=True)
class SplitTruth:
    """One scenario's split as stored: its shape, share of members and digest; no label."""

    scenario: str
    split: str
    models: int
    points_per_model: int
    members: float  # share of labels that are 1 (MICO: 0.5)
    updated_at: datetime
    digest: str  # SHA-256 of the scenario's packed labels, as in the track's digest


@dataclass(frozen=True)
class Progress:
    """How far the rescoring after the latest replacement has got, counted from the
    submissions' statuses: it stops moving, visibly, when no worker scores."""

    version: TruthVersion
    actor: str | None
    total: int
    rescored: int
    failed: int
    last_done_at: datetime | None

    @property
    def waiting(self) -> int:
        """Submissions still queued or being scored."""
        return self.total - self.rescored - self.failed

    @property
    def done(self) -> bool:
        """True once every submission queued by the replacement is scored or failed."""
        return self.waiting == 0

    @property
    def quiet(self) -> bool:
        """True when work remains but nothing finished for a while (a worker down?)."""
        since = self.last_done_at or self.version.created_at
        return not self.done and utcnow() - since > QUIET_AFTER


def required_splits(session: Session, competition: Competition, track: Track) -> tuple[str, ...]:
    """The splits an upload must hold, in the definition's order: dev and final (what
    import-mico stores), every split a phase scores, and any split already stored."""
    definition = definition_of(competition)
    wanted = set(HIDDEN_SPLITS) | set(_stored_splits(session, track))
    for scored in session.scalars(
        select(Phase.scored_splits).where(Phase.competition_id == competition.id)
    ):
        wanted |= set(scored)
    return tuple(s for s in definition.split_names if s in wanted)


def _stored_splits(session: Session, track: Track) -> list[str]:
    return list(
        session.scalars(
            select(GroundTruth.split)
            .join(Scenario, Scenario.id == GroundTruth.scenario_id)
            .where(Scenario.track_id == track.id)
            .distinct()
        )
    )


def stored_truth(session: Session, track: Track) -> list[SplitTruth]:
    """Every stored scenario split of the track, by scenario then split."""
    rows = session.execute(
        select(Scenario.name, GroundTruth)
        .join(GroundTruth, GroundTruth.scenario_id == Scenario.id)
        .where(Scenario.track_id == track.id)
        .order_by(Scenario.name, GroundTruth.split)
    ).tuples()
    return [_described(name, row) for name, row in rows]


def _described(scenario: str, row: GroundTruth) -> SplitTruth:
    count = row.models * row.points_per_model
    labels = np.unpackbits(np.frombuffer(row.packed_labels, np.uint8), count=count)
    return SplitTruth(
        scenario=scenario,
        split=row.split,
        models=row.models,
        points_per_model=row.points_per_model,
        members=float(labels.mean()) if count else 0.0,
        updated_at=row.updated_at,
        digest=_scenario_digest(scenario, row.models, row.packed_labels),
    )


def _scenario_digest(scenario: str, models: int, packed: bytes) -> str:
    """One scenario's part of `truth_digest`, alone."""
    return hashlib.sha256(f"{scenario}:{models}:".encode() + packed).hexdigest()


def truth_digest(session: Session, track: Track, split: str) -> str:
    """SHA-256 over the track's stored labels of a split, scenario by scenario: which ground
    truth a score was computed against, without a label in it."""
    digest = hashlib.sha256()
    rows = session.execute(
        select(Scenario.name, GroundTruth.packed_labels, GroundTruth.models)
        .join(GroundTruth, GroundTruth.scenario_id == Scenario.id)
        .where(Scenario.track_id == track.id, GroundTruth.split == split)
        .order_by(Scenario.name)
    ).tuples()
    for name, packed, models in rows:
        digest.update(f"{name}:{models}:".encode())
        digest.update(packed)
    return digest.hexdigest()


def digests(session: Session, track: Track, splits: tuple[str, ...]) -> dict[str, str | None]:
    """The track's digest per split (as the results export gives it); None where nothing is
    stored."""
    stored = set(_stored_splits(session, track))
    return {s: truth_digest(session, track, s) if s in stored else None for s in splits}


def replace_truth(
    session: Session,
    competition: Competition,
    organizer: User,
    track: Track,
    data: bytes,
    *,
    filename: str,
    max_bytes: int,
    dispatcher: Dispatcher,
) -> TruthVersion | None:
    """Validate an uploaded zip of the track's ground truth and, if it differs from what is
    stored, replace it and queue every submission of the track to be scored again (one
    UPDATE; a track of many submissions is sent to the workers as one message).

    None when the zip holds exactly the stored labels (nothing changed, nothing rescored).
    Invalid (every problem) or TooLarge leave everything as it was.
    """
    if len(data) > max_bytes:
        raise TooLarge(too_large_message(len(data), max_bytes))
    definition = definition_of(competition)
    splits = required_splits(session, competition, track)
    labels = _validated(data, definition, track, splits, filename, max_bytes)
    before = digests(session, track, splits)
    for scenario in _scenarios(session, track, definition):
        for split in splits:
            store_labels(session, scenario, split, labels[scenario.name, split], definition)
    session.flush()
    after = digests(session, track, splits)
    if after == before:
        return None
    count, last = session.execute(
        select(func.count(), func.max(Submission.id)).where(Submission.track_id == track.id)
    ).one()
    version = TruthVersion(
        track_id=track.id,
        actor_id=organizer.id,
        digests_before=before,
        digests_after=after,
        submissions=count,
        last_submission_id=last,
    )
    session.add(version)
    rescore_track(session, dispatcher, track.id, Submission.id <= last)
    audit.record(
        session,
        competition,
        organizer,
        "truth.replace",
        {
            "track": track.name,
            "before": before,
            "after": after,
            "zip_sha256": hashlib.sha256(data).hexdigest(),
            "rescored": count,
        },
    )
    return version


def too_large_message(size: int | None, max_bytes: int) -> str:
    """What a refused oversize upload is told: its size (None: a body of unknown length that
    passed the limit) and the limit."""
    is_ = f"is {_mb(size)}" if size is not None else "is larger"
    return (
        f"the upload {is_}; a ground-truth zip may be at most {_mb(max_bytes)} "
        "(the server's TRUTH_UPLOAD_MAX_BYTES). Zip only the solution.csv files"
    )


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _validated(
    data: bytes,
    definition: Definition,
    track: Track,
    splits: tuple[str, ...],
    filename: str,
    max_bytes: int,
) -> dict[tuple[str, str], NDArray[np.float64]]:
    """The zip's labels per (scenario, split); Invalid listing every problem otherwise."""
    limits = replace(
        TRUTH_LIMITS,
        max_zip_bytes=max_bytes,
        max_file_bytes=max(4096, 64 * definition.points_per_model),
    )
    try:
        truth = read_track_truth(
            data,
            track=track.name,
            splits=splits,
            definition=definition,
            name=filename,
            limits=limits,
        )
    except InvalidInput as exc:
        count = len(exc.problems)
        raise Invalid(
            f"this zip is not valid ground truth for {track.name}: {count} problem"
            f"{'s' if count != 1 else ''} found; nothing was changed",
            errors=[str(p) for p in exc.problems],
        ) from None
    return truth.labels


def _scenarios(session: Session, track: Track, definition: Definition) -> list[Scenario]:
    """The track's scenarios as the definition names them, added when missing."""
    stored = {
        s.name: s for s in session.scalars(select(Scenario).where(Scenario.track_id == track.id))
    }
    for name in definition.track(track.name).scenarios:
        if name not in stored:
            stored[name] = Scenario(track_id=track.id, name=name)
            session.add(stored[name])
    session.flush()
    return [stored[name] for name in definition.track(track.name).scenarios]


def submission_count(session: Session, track: Track) -> int:
    """How many submissions a replacement would queue again: all of the track's."""
    return session.scalar(select(func.count()).where(Submission.track_id == track.id)) or 0


def progress(session: Session, track: Track) -> Progress | None:
    """The rescoring after the track's latest replacement, or None if it was never replaced."""
    version = session.scalar(
        select(TruthVersion)
        .where(TruthVersion.track_id == track.id)
        .order_by(TruthVersion.id.desc())
        .limit(1)
    )
    if version is None:
        return None
    counts: dict[SubmissionStatus, int] = {}
    last_done: datetime | None = None
    if version.last_submission_id is not None:
        rows = session.execute(
            select(Submission.status, func.count(), func.max(Submission.scored_at))
            .where(
                Submission.track_id == track.id,
                Submission.id <= version.last_submission_id,
            )
            .group_by(Submission.status)
        ).tuples()
        for status, count, latest in rows:
            counts[status] = count
            if status in (SubmissionStatus.SCORED, SubmissionStatus.FAILED) and latest:
                last_done = max(last_done, latest) if last_done else latest
    actor = session.get(User, version.actor_id) if version.actor_id else None
    return Progress(
        version=version,
        actor=actor.display_name if actor else None,
        total=sum(counts.values()),
        rescored=counts.get(SubmissionStatus.SCORED, 0),
        failed=counts.get(SubmissionStatus.FAILED, 0),
        last_done_at=last_done,
    )
