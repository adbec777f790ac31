"""What organizers change in a running competition: its phases (dates, limits, policy; open
and close now) and its submissions (rescore, disqualify). Every change goes to the audit log."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.competitions import audit
from app.competitions.registrations import require_organizer
from app.core.db import row_by_id
from app.core.errors import Invalid, NotFound
from app.leaderboard.service import splits_of, standings
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import LeaderboardPolicy, Phase
from app.models.ranking import Ranking
from app.models.scenario import Scenario
from app.models.submission import Submission, SubmissionStatus
from app.models.team import Team
from app.models.track import Track
from app.models.user import User
from app.submissions.pipeline import rescore


@dataclass(frozen=True)
class PhaseChange:
    """The settings of a phase an organizer may change; None leaves one as it is."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    accepts_uploads: bool | None = None
    max_per_day: int | None = None
    max_total: int | None = None
    leaderboard_policy: LeaderboardPolicy | None = None
    allow_pinning: bool | None = None
    ladder_eta: float | None = None
    clear_end: bool = False  # ends_at None means "no end": say so explicitly
    exact_scores: bool = False  # ladder_eta None means "unchanged": turning it off is this


def phases_of(session: Session, competition: Competition) -> list[Phase]:
    """The competition's phases, in the order they were made."""
    return list(
        session.scalars(
            select(Phase).where(Phase.competition_id == competition.id).order_by(Phase.id)
        )
    )


def phase_of(session: Session, competition: Competition, phase_id: int) -> Phase:
    """One of the competition's phases, or NotFound."""
    phase = row_by_id(session, Phase, phase_id)
    if phase is None or phase.competition_id != competition.id:
        raise NotFound(f"{competition.title} has no phase {phase_id}")
    return phase


def change_phase(
    session: Session, competition: Competition, organizer: User, phase: Phase, change: PhaseChange
) -> Phase:
    """Apply an organizer's change to a phase, refusing dates or limits that make no sense."""
    require_organizer(session, competition, organizer)
    values = {k: v for k, v in vars(change).items() if v is not None and k != "clear_end"}
    if change.clear_end:
        values["ends_at"] = None
    starts = values.get("starts_at", phase.starts_at)
    ends = values.get("ends_at", phase.ends_at)
    if starts is not None and ends is not None and ends <= starts:
        raise Invalid(f"{phase.name} would end ({ends:%Y-%m-%d %H:%M}) before it starts")
    for limit in ("max_per_day", "max_total"):
        if limit in values and not 0 <= values[limit] <= 1_000_000:
            raise Invalid(f"{limit.replace('_', ' ')} is between 0 and 1,000,000")
    for key, value in values.items():
        setattr(phase, key, value)
    audit.record(
        session, competition, organizer, "phase.change", {"phase": phase.name, **_plain(values)}
    )
    return phase


def open_now(session: Session, competition: Competition, organizer: User, phase: Phase) -> Phase:
    """Start a phase now and end every other running one (MICO: Final opens, uploads close)."""
    require_organizer(session, competition, organizer)
    now = utcnow()
    for other in phases_of(session, competition):
        running = (other.starts_at is None or other.starts_at <= now) and (
            other.ends_at is None or other.ends_at > now
        )
        if other.id != phase.id and running and other.starts_at is not None:
            other.ends_at = now
    phase.starts_at, phase.ends_at = now, None
    audit.record(session, competition, organizer, "phase.open", {"phase": phase.name})
    return phase


def close_now(session: Session, competition: Competition, organizer: User, phase: Phase) -> Phase:
    """End a phase now: no more uploads to it."""
    require_organizer(session, competition, organizer)
    now = utcnow()
    if phase.starts_at is None or phase.starts_at > now:
        raise Invalid(f"{phase.name} has not started; there is nothing to close")
    phase.ends_at = now
    audit.record(session, competition, organizer, "phase.close", {"phase": phase.name})
    return phase


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else str(v) for k, v in values.items()}


@dataclass(frozen=True)
class SubmissionRow:
    """A submission as the organizers' list shows it, with its exact ranking scores."""

    submission: Submission
    participant: str
    track: str
    rankings: dict[str, float]


def submissions_of(
    session: Session,
    competition: Competition,
    *,
    track: str | None = None,
    status: SubmissionStatus | None = None,
    participant: str | None = None,
    submission_id: int | None = None,
    limit: int = 200,
) -> list[SubmissionRow]:
    """The competition's submissions, newest first, filtered by track, status and participant
    (a display or team name, any letter case)."""
    query = (
        select(Submission, Track.name, User.display_name, Team.name)
        .join(Track, Track.id == Submission.track_id)
        .join(User, User.id == Submission.user_id)
        .outerjoin(Team, Team.id == Submission.team_id)
        .where(Track.competition_id == competition.id)
        .order_by(Submission.id.desc())
        .limit(limit)
    )
    if track:
        query = query.where(Track.name == track)
    if submission_id is not None:
        query = query.where(Submission.id == submission_id)
    if status is not None:
        query = query.where(Submission.status == status)
    if participant:
        name = participant.strip().lower()
        query = query.where(
            or_(func.lower(User.display_name) == name, func.lower(Team.name) == name)
        )
    rows = session.execute(query).tuples().all()
    rankings: dict[int, dict[str, float]] = {}
    ids = [row[0].id for row in rows]
    for submission_id, split, score in session.execute(
        select(Ranking.submission_id, Ranking.split, Ranking.ranking_score).where(
            Ranking.submission_id.in_(ids)
        )
    ).tuples():
        rankings.setdefault(submission_id, {})[split] = score
    return [
        SubmissionRow(s, team_name or user_name, track_name, rankings.get(s.id, {}))
        for s, track_name, user_name, team_name in rows
    ]


def submission_in(session: Session, competition: Competition, submission_id: int) -> Submission:
    """One of the competition's submissions, or NotFound."""
    submission = row_by_id(session, Submission, submission_id)
    track = session.get(Track, submission.track_id) if submission else None
    if submission is None or track is None or track.competition_id != competition.id:
        raise NotFound(f"{competition.title} has no submission {submission_id}")
    return submission


def disqualify(
    session: Session,
    competition: Competition,
    organizer: User,
    submission: Submission,
    reason: str | None,
) -> Submission:
    """Keep a submission off every leaderboard, with a reason its owner sees; None restores."""
    require_organizer(session, competition, organizer)
    if reason is not None:
        reason = reason.strip()
        if not 3 <= len(reason) <= 500 or "\x00" in reason:
            raise Invalid("give the participant a reason, 3 to 500 characters")
    submission.disqualified = reason
    action = "submission.disqualify" if reason else "submission.requalify"
    audit.record(
        session, competition, organizer, action, {"submission": submission.id, "reason": reason}
    )
    return submission


def rescore_submissions(
    session: Session,
    competition: Competition,
    organizer: User,
    send: Callable[[int], None],
    submissions: list[Submission],
) -> list[int]:
    """Queue submissions to be scored again, now (sent once committed)."""
    require_organizer(session, competition, organizer)
    ids = rescore(session, send, submissions)
    audit.record(
        session,
        competition,
        organizer,
        "submission.rescore",
        {"submissions": ids[:100], "count": len(ids)},
    )
    return ids


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


def export(
    session: Session, competition: Competition, organizer: User, track: Track
) -> list[dict[str, Any]]:
    """Every ranked row of a track on every split, exact, with its provenance: the zip's
    SHA-256, the scorer's version, the ground truth's digest and when it was scored."""
    require_organizer(session, competition, organizer)
    rows = []
    for split in splits_of(session, competition):
        digest = truth_digest(session, track, split)
        for entry in standings(session, competition, track, split):
            submission = session.get_one(Submission, entry.submission_id)
            rows.append(
                {
                    "split": split,
                    **{k: v for k, v in entry.to_dict().items() if k != "revealed_rank"},
                    "sha256": submission.sha256,
                    "scorer_version": submission.scorer_version,
                    "ground_truth_sha256": digest,
                    "scored_at": submission.scored_at.isoformat() if submission.scored_at else None,
                }
            )
    audit.record(session, competition, organizer, "results.export", {"track": track.name})
    return rows


def audit_log(
    session: Session, competition: Competition, *, action: str | None = None, limit: int = 200
) -> list[tuple[AuditEntry, str | None]]:
    """The competition's audit entries, newest first, with the actor's display name;
    `action` keeps those whose action starts with it (e.g. `phase.`)."""
    query = (
        select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.competition_id == competition.id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    return list(session.execute(query).tuples())
