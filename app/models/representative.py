"""The table of representatives: per track, split and owner, the submissions that may stand
for the owner on a leaderboard, which ranking reads instead of every submission, so that its
cost grows with the participants, not with their uploads; and what keeps it current (loaded
with every model, by app.models.registry, so in every process). Each flush that changes what an
owner may be ranked by (a score landing or queued again, a pin, a disqualification, a ban or
unban, a team removed) works out that owner's row again in the same transaction, from their
own submissions only. A change costs the same on a track of 1,000 submissions as of 100,000.

Statements that bypass the ORM's change tracking (bulk UPDATEs, COPY) call `refresh` or
`rebuild` themselves. On PostgreSQL, two transactions working out the same owner take turns
(an advisory lock per track and owner, held to the end of the transaction): the second reads
what the first committed, so the last row written has both changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Select,
    String,
    and_,
    case,
    delete,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column
from sqlalchemy.orm.attributes import instance_state

from app.models.base import Base, utcnow
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.registration import Registration, RegistrationStatus
from app.models.submission import Submission, SubmissionStatus
from app.models.team import Team
from app.models.track import Track


class Representative(Base):
    """One owner's candidates on one split of a track: a team as minus its id, a user who
    uploaded alone as their id; the competition's rows and a benchmark phase's apart. Each
    policy's pick (latest, best; a pinned one first where pinning is allowed) among the owner's
    rankable submissions (scored, not disqualified, not uploaded by a banned participant),
    and how many those are."""

    __tablename__ = "representatives"

    track_id: Mapped[int] = mapped_column(
        ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[int] = mapped_column(primary_key=True)  # first: an owner's rows are together
    split: Mapped[str] = mapped_column(String(16), primary_key=True)
    benchmark: Mapped[bool] = mapped_column(primary_key=True)
    submissions: Mapped[int]
    latest_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    best_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    # The latest and the best of the pinned ones (one at most, as pinning unpins the others).
    pinned_latest_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE")
    )
    pinned_best_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE")
    )
    # When this row was last worked out: a leaderboard's signature notices any change by it.
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


# The policies' orders among an owner's submissions, first picked first.
LATEST = (Submission.created_at.desc(), Submission.id.desc())
BEST = (Ranking.ranking_score.desc(), Submission.created_at, Submission.id)
# A change to any of these may change which submission stands for its owner, or whose it is.
_OWNING = ("pinned", "disqualified", "team_id", "user_id")
ONE_BY_ONE = 32  # owners worked out one by one in a refresh; for more, the whole track
_STALE = "stale representatives"  # the session.info key of what the next flush works out


def owner() -> Any:
    """One key per participant: a team as minus its id, a user as its id."""
    return case((Submission.team_id.is_not(None), -Submission.team_id), else_=Submission.user_id)


def key_of(user_id: int, team_id: int | None) -> int:
    """`owner()` of one submission's uploader and team, in Python."""
    return -team_id if team_id else user_id


def in_benchmark() -> Any:
    """True for the submissions of a benchmark phase: they rank on the benchmark's board only."""
    return Submission.phase_id.in_(select(Phase.id).where(Phase.benchmark))


def rankable(track_id: int, competition_id: Any, *columns: Any) -> Select[Any]:
    """The track's submissions that may be ranked (scored, not disqualified, not uploaded by a
    participant banned from the competition: a banned member's uploads leave their team's
    ranking, the others' stay), one row per split they have a ranking score on, with
    `columns`. `competition_id`: the track's, or an expression that gives it."""
    banned = select(Registration.id).where(
        Registration.competition_id == competition_id,
        Registration.user_id == Submission.user_id,
        Registration.status == RegistrationStatus.BANNED,
    )
    return (
        select(*columns)
        .select_from(Submission)
        .join(Ranking, Ranking.submission_id == Submission.id)
        .where(
            Submission.track_id == track_id,
            Submission.status == SubmissionStatus.SCORED,
            Submission.disqualified.is_(None),
            ~banned.exists(),
        )
    )


def refresh(session: Session, track_id: int, owners: Iterable[int]) -> None:
    """Work out these owners' rows of the track again (those left with nothing rankable lose
    theirs)."""
    chosen = sorted(set(owners))
    if not chosen:
        return
    if len(chosen) > ONE_BY_ONE:  # a track queued again whole, say: PostgreSQL's lock table
        rebuild(session, track_id)  # holds a few thousand locks in all, not one per owner
        return
    if _locking(session):
        _lock(session, track_id, chosen)
    users = [o for o in chosen if o > 0]
    teams = [-o for o in chosen if o < 0]
    session.execute(
        delete(Representative).where(
            Representative.track_id == track_id, Representative.owner.in_(chosen)
        )
    )
    _insert(
        session,
        track_id,
        or_(
            and_(Submission.team_id.is_(None), Submission.user_id.in_(users)),
            Submission.team_id.in_(teams),
        ),
    )


def rebuild(session: Session, track_id: int) -> None:
    """Work out every row of the track again: after rows were written around the ORM (COPY,
    a bulk INSERT), or to check the table (the two must agree)."""
    if _locking(session):
        _lock(session, track_id, None)
    session.execute(delete(Representative).where(Representative.track_id == track_id))
    _insert(session, track_id, literal(True))


def _lock(session: Session, track_id: int, owners: list[int] | None) -> None:
    """Take the owners' locks, in order (two transactions taking some of the same never wait
    on each other in a circle), after the track's lock shared; for every owner (None), the
    track's lock alone."""
    track = {"track": -track_id}
    if owners is None:
        session.execute(text("SELECT pg_advisory_xact_lock(:track, 0)"), track)
        return
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:track, 0)"), track)
    session.execute(
        text("SELECT pg_advisory_xact_lock(:track, o) FROM unnest(CAST(:owners AS int[])) o"),
        {"track": track_id, "owners": owners},
    ).all()


def _locking(session: Session) -> bool:
    """PostgreSQL's advisory locks are there (SQLite lets one writer in at a time anyway)."""
    return session.get_bind().dialect.name == "postgresql"


def _insert(session: Session, track_id: int, which: Any) -> None:
    """The rows of the owners whose submissions `which` selects, from those submissions."""
    competition_id = select(Track.competition_id).where(Track.id == track_id).scalar_subquery()
    benchmark = in_benchmark()
    parts = (Ranking.split, benchmark, owner())

    def first(*order: Any) -> Any:
        return func.row_number().over(partition_by=parts, order_by=order)

    candidates = (
        rankable(
            track_id,
            competition_id,
            Submission.id,
            Submission.pinned,
            Ranking.split,
            benchmark.label("benchmark"),
            owner().label("owner"),
            first(*LATEST).label("latest"),
            first(*BEST).label("best"),
            first(Submission.pinned.desc(), *LATEST).label("pinned_latest"),
            first(Submission.pinned.desc(), *BEST).label("pinned_best"),
            func.count().over(partition_by=parts).label("n"),
        )
        .where(which)
        .subquery()
    )
    c = candidates.c

    def the(rank: Any, *also: Any) -> Any:
        return func.max(case((and_(rank == 1, *also), c.id)))

    rows = select(
        literal(track_id),
        c.split,
        c.benchmark,
        c.owner,
        func.max(c.n),
        the(c.latest),
        the(c.best),
        the(c.pinned_latest, c.pinned),
        the(c.pinned_best, c.pinned),
        literal(utcnow()),
    ).group_by(c.split, c.benchmark, c.owner)
    session.execute(
        insert(Representative).from_select(
            [
                "track_id",
                "split",
                "benchmark",
                "owner",
                "submissions",
                "latest_id",
                "best_id",
                "pinned_latest_id",
                "pinned_best_id",
                "refreshed_at",
            ],
            rows,
        )
    )


@dataclass
class _Stale:
    """What a flush changed that the representatives depend on, worked out once it is done."""

    owners: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    rankings: set[int] = field(default_factory=set)  # submissions whose ranking scores moved
    bans: set[tuple[int, int]] = field(default_factory=set)  # (competition, user) (un)banned

    def __bool__(self) -> bool:
        return bool(self.owners or self.rankings or self.bans)


@event.listens_for(Session, "before_flush")
def _note(session: Session, _context: UOWTransaction, _instances: object) -> None:
    """Note the owners this flush may change the standing of (their rows are worked out after
    it, when what it wrote can be read back)."""
    stale: _Stale = session.info.setdefault(_STALE, _Stale())
    with session.no_autoflush:
        for row in session.new:
            _note_row(session, stale, row, whole=True)
        for row in session.dirty:
            _note_row(session, stale, row, whole=False)
        for row in session.deleted:
            _note_row(session, stale, row, whole=True)


def _note_row(session: Session, stale: _Stale, row: object, *, whole: bool) -> None:
    """Note what `row` (new or deleted when `whole`, else changed) changes."""
    if isinstance(row, Submission):
        state = instance_state(row)
        scored = SubmissionStatus.SCORED in {row.status, *_before(state, "status")}
        if (whole and (scored or row in session.deleted)) or (
            any(_changed(state, key) for key in _OWNING) or (_changed(state, "status") and scored)
        ):
            teams = {row.team_id, *_before(state, "team_id")}
            users = {row.user_id, *_before(state, "user_id")}
            stale.owners[row.track_id] |= {key_of(u, t) for t in teams for u in users}
    elif isinstance(row, Ranking) and (whole or _changed(instance_state(row), "ranking_score")):
        stale.rankings.add(row.submission_id)
    elif isinstance(row, Registration):
        record = instance_state(row)
        banned = RegistrationStatus.BANNED in {row.status, *_before(record, "status")}
        if banned and (whole or _changed(record, "status")):
            stale.bans.add((row.competition_id, row.user_id))
    elif isinstance(row, Team) and row in session.deleted:  # its uploads become their uploaders'
        for track_id, user_id in session.execute(
            select(Submission.track_id, Submission.user_id).where(Submission.team_id == row.id)
        ).tuples():
            stale.owners[track_id] |= {-row.id, user_id}


def _changed(state: Any, key: str) -> bool:
    """This flush changes the attribute (only the attributes asked about are looked at: every
    flush of the application passes here)."""
    return bool(state.attrs[key].history.has_changes())


def _before(state: Any, key: str) -> list[Any]:
    """The value an attribute had before this flush's change, if it changed."""
    return list(state.attrs[key].history.deleted)


@event.listens_for(Session, "after_flush_postexec")
def _work_out(session: Session, _context: UOWTransaction) -> None:
    """Work out again the rows of the owners the flush noted."""
    stale: _Stale | None = session.info.pop(_STALE, None)
    if not stale:
        return
    owners = stale.owners
    with session.no_autoflush:
        if stale.rankings:
            for track_id, user_id, team_id in session.execute(
                select(Submission.track_id, Submission.user_id, Submission.team_id).where(
                    Submission.id.in_(stale.rankings)
                )
            ).tuples():
                owners[track_id].add(key_of(user_id, team_id))
        for competition_id, user_id in stale.bans:
            for track_id, key in session.execute(
                select(Submission.track_id, owner())
                .distinct()
                .join(Track, Track.id == Submission.track_id)
                .where(Track.competition_id == competition_id, Submission.user_id == user_id)
            ).tuples():
                owners[track_id].add(key)
        for track_id in sorted(owners):
            refresh(session, track_id, owners[track_id])
