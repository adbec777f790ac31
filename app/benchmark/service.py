"""A competition as a living benchmark, after it ended: organizers open a Benchmark phase once
the final results are revealed; anyone who accepts the terms may then upload (no approval
asked), scored on the final split. Its board ranks those entries beside the competition's own
final rows, which stay as they were: the final leaderboard and the Results never rank a
benchmark upload. Rows carry their method and links,
a mark for entries made after the competition (and after the labels were published, once the
organizers say when) and the verification level organizers gave them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.competitions import audit
from app.competitions.visibility import benchmark_phase, phases_of
from app.core.errors import Conflict, Invalid, NotFound
from app.leaderboard.service import Entry, standings
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import LeaderboardPolicy, Phase
from app.models.submission import Submission, Verification
from app.models.track import Track
from app.models.user import User
from app.results.service import final_split
from app.submissions.methods import Method, method_of

NAME = "Benchmark"
MAX_PER_DAY = 5
MAX_TOTAL = 1000
LEVELS = {
    Verification.SELF_REPORTED: "self-reported",
    Verification.RERUN: "re-run by the organizers",
    Verification.VERIFIED: "verified",
}


@dataclass(frozen=True)
class Row:
    """A row of the benchmark board: an entry of the competition's final ranking, or one made
    in the benchmark phase (`after`), with its method, links and verification level."""

    rank: int
    entry: Entry
    after: bool  # submitted in the benchmark phase, after the competition
    after_labels: bool  # submitted once the organizers had published the labels
    method: Method
    verification: Verification


@dataclass(frozen=True)
class Board:
    """A track's benchmark board on its split."""

    track: Track
    split: str
    phase: Phase
    rows: list[Row]


def benchmark_split(session: Session, competition: Competition) -> str | None:
    """The split a benchmark scores: the split the final results rank on (a definition has no
    field naming a separate benchmark split yet)."""
    return final_split(session, competition)


def require_benchmark(session: Session, competition: Competition) -> Phase:
    """The benchmark phase, or NotFound while the competition is not a benchmark, and while
    organizers have hidden the final results again (the board would show them)."""
    phase = benchmark_phase(session, competition)
    if phase is None:
        raise NotFound(f"{competition.title} is not a benchmark (yet)")
    if competition.revealed_at is None:
        raise NotFound(f"the final results of {competition.title} are hidden again")
    return phase


def open_benchmark(
    session: Session, competition: Competition, organizer: User, max_per_day: int = MAX_PER_DAY
) -> Phase:
    """Open the Benchmark phase: refused before the reveal (the final split would be scored
    in the open) and when it is open already. Phases still taking uploads close now."""
    if competition.revealed_at is None:
        raise Conflict(
            f"the final results of {competition.title} are not revealed yet: reveal them first "
            "(Leaderboard, Reveal final results), then turn the competition into a benchmark"
        )
    if benchmark_phase(session, competition) is not None:
        raise Conflict(f"{competition.title} is a benchmark already")
    if not 1 <= max_per_day <= 100:
        raise Invalid("max_per_day: give 1 to 100 uploads a day")
    split = benchmark_split(session, competition)
    if split is None:
        raise Invalid(f"{competition.title} scores no split: add a phase that scores one first")
    now = utcnow()
    earlier = phases_of(session, competition)
    closed = [p.name for p in earlier if p.ends_at is None or p.ends_at > now]
    for phase in earlier:  # the competition is over: none of its phases opens again
        if phase.ends_at is None or phase.ends_at > now:
            if phase.starts_at is None or phase.starts_at > now:
                phase.starts_at = now
            phase.ends_at = now
    phase = Phase(
        competition_id=competition.id,
        name=NAME,
        starts_at=now,
        ends_at=None,
        accepts_uploads=True,
        scored_splits=_scored(earlier, split),
        shown_splits=[],  # the split shows as revealed; the Results still rank on it
        max_per_day=max_per_day,
        max_total=MAX_TOTAL,
        max_bytes=max((p.max_bytes for p in earlier), default=50 * 1024 * 1024),
        leaderboard_policy=LeaderboardPolicy.BEST,
        benchmark=True,
    )
    session.add(phase)
    session.flush()
    session.info.get("mia_phases", {}).pop(competition.id, None)
    detail = {"split": split, "max_per_day": max_per_day, "closed": closed}
    audit.record(session, competition, organizer, "benchmark.open", detail)
    return phase


def _scored(earlier: list[Phase], split: str) -> list[str]:
    """What a benchmark upload carries and is scored on: every split the competition scored
    (a MICO zip holds dev and final: none is ignored), with `split` itself."""
    splits = list(dict.fromkeys(s for p in earlier for s in p.scored_splits))
    return splits if split in splits else [*splits, split]


def board(session: Session, competition: Competition, track: Track) -> Board:
    """The track's benchmark rows: the competition's final ranking (frozen: no benchmark
    upload is in it) and each benchmark participant's best entry, ranked together by score
    (ties to the earlier submission)."""
    phase = require_benchmark(session, competition)
    split = benchmark_split(session, competition) or phase.scored_splits[-1]
    before = standings(session, competition, track, split)
    after = standings(session, competition, track, split, benchmark=phase)
    merged = sorted(
        [(e, False) for e in before] + [(e, True) for e in after],
        key=lambda pair: (-pair[0].ranking_score, pair[0].submitted_at, pair[0].submission_id),
    )
    submissions = {
        s.id: s
        for s in session.scalars(
            select(Submission).where(Submission.id.in_([e.submission_id for e, _ in merged]))
        )
    }
    published = competition.labels_published_at
    rows = [
        Row(
            rank=i,
            entry=entry,
            after=after_,
            after_labels=after_ and published is not None and entry.submitted_at >= published,
            method=method_of(submissions[entry.submission_id]),
            verification=submissions[entry.submission_id].verification,
        )
        for i, (entry, after_) in enumerate(merged, start=1)
    ]
    return Board(track, split, phase, rows)


def set_labels_published(
    session: Session, competition: Competition, organizer: User, at: datetime | None
) -> None:
    """Record when the organizers published the hidden labels (None: not published)."""
    if at is not None and at.tzinfo is None:
        raise Invalid("published_at: give a time with its zone, e.g. 2026-12-01T12:00:00Z")
    if at is not None and at > utcnow():
        raise Invalid("published_at: the labels cannot have been published in the future")
    before = competition.labels_published_at
    competition.labels_published_at = at
    session.flush()
    detail = {
        "published_at": at.isoformat() if at else None,
        "before": before.isoformat() if before else None,
    }
    audit.record(session, competition, organizer, "benchmark.labels_published", detail)


def set_verification(
    session: Session,
    competition: Competition,
    organizer: User,
    submission_id: int,
    level: Verification,
) -> Submission:
    """Set an entry's verification level (organizers only: the route's guard checked)."""
    submission = session.scalar(
        select(Submission)
        .join(Track, Track.id == Submission.track_id)
        .where(Submission.id == submission_id, Track.competition_id == competition.id)
    )
    if submission is None:
        raise NotFound(f"{competition.title} has no submission {submission_id}")
    before = submission.verification
    submission.verification = level
    session.flush()
    detail = {"submission": submission_id, "level": level.value, "before": before.value}
    audit.record(session, competition, organizer, "benchmark.verification", detail)
    return submission
