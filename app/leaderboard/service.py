"""Leaderboards: one row per participant or team, their representative submission ranked by its
ranking score (ties to the earlier submission); which splits anyone may see; the final reveal."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from time import monotonic, perf_counter
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Integer, and_, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.competitions import audit
from app.competitions.registrations import organizes, tracks_of
from app.competitions.visibility import hidden, ranking_phase, splits_of
from app.core.errors import Invalid
from app.leaderboard.rules import Rules, rules_of
from app.mail import notices
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import LeaderboardPolicy, Phase
from app.models.ranking import Ranking
from app.models.registration import Registration, RegistrationStatus
from app.models.representative import Representative, in_benchmark, owner, rankable
from app.models.reveal import Reveal
from app.models.scenario import Scenario
from app.models.score import Score
from app.models.submission import Submission
from app.models.team import Team
from app.models.team_member import TeamMember
from app.models.track import Track
from app.models.user import User
from app.scoring.scorer import mean_ranks

T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass
class Entry:
    """A participant's (or team's) row."""

    rank: int
    participant: str
    submission_id: int
    ranking_score: float
    submitted_at: datetime
    submissions: int
    scenarios: dict[str, dict[str, float]] = field(default_factory=dict)
    revealed_rank: int | None = None  # as shown at the reveal, when one was made
    # The ranking score's 95% bootstrap interval: None until the intervals job has run, and
    # always under the Ladder (it would give the exact score away).
    ci_low: float | None = None
    ci_high: float | None = None
    # The 95% range of the row's rank over the same replicates, and its group of rows the data
    # cannot tell apart (1 = the leader's): None until its replicates are in, and under the
    # Ladder or mean ranks.
    rank_low: int | None = None
    rank_high: int | None = None
    group: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for JSON and for the record of a reveal (no deep copy: 2,000 rows)."""
        return {**vars(self), "submitted_at": self.submitted_at.isoformat()}


def laddered(session: Session, competition: Competition, split: str, user: User | None) -> bool:
    """True when this viewer sees the split through the Ladder (everyone but organizers)."""
    if organizes(session, competition, user):
        return False
    phase = ranking_phase(session, competition, split)
    return bool(phase is not None and phase.ladder_eta and split in phase.shown_splits)


def standings(
    session: Session,
    competition: Competition,
    track: Track,
    split: str,
    *,
    exact: bool = True,
    rules: Rules | None = None,
    benchmark: Phase | None = None,
) -> list[Entry]:
    """The ranked rows: scored submissions only; one per participant, by the phase's policy
    (or the one they pinned); with the phase's Ladder unless `exact` (organizers). A track
    ranked by `mean_rank` orders the rows by their mean rank (`rules`: when already read).
    With a `benchmark` phase: its submissions' rows, by its policy, instead."""
    rules = rules or rules_of(competition, track)
    phase = benchmark or ranking_phase(session, competition, split)
    if phase is not None and phase.ladder_eta and not exact and split in phase.shown_splits:
        return _ladder(session, track, split, phase.ladder_eta)
    rows = session.execute(
        select(
            Submission.id,
            Submission.user_id,
            Submission.team_id,
            Submission.created_at,
            Ranking.ranking_score,
            Ranking.ci_low,
            Ranking.ci_high,
            Representative.submissions.label("n"),
            func.coalesce(Team.name, User.display_name).label("name"),
        )
        .select_from(Representative)
        .join(Submission, Submission.id == _pick(phase))
        .join(User, User.id == Submission.user_id)
        .outerjoin(Team, Team.id == Submission.team_id)
        .join(Ranking, (Ranking.submission_id == Submission.id) & (Ranking.split == split))
        .where(
            Representative.track_id == track.id,
            Representative.split == split,
            Representative.benchmark == (benchmark is not None),
        )
        .order_by(Ranking.ranking_score.desc(), Submission.created_at, Submission.id)
    ).all()
    entries = [
        Entry(
            rank=i,
            participant=row.name,
            submission_id=row.id,
            ranking_score=row.ranking_score,
            submitted_at=row.created_at,
            submissions=row.n,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
        )
        for i, row in enumerate(rows, start=1)
    ]
    ranked = _add_scenarios(session, entries, split, rules)
    return _by_mean_rank(entries, ranked) if rules.by_mean_rank else entries


def _pick(phase: Phase | None) -> Any:
    """The representative a phase's policy ranks: the latest (also when no phase ranks the
    split) or the best; the pinned one first where pinning is allowed."""
    best = phase is not None and phase.leaderboard_policy is LeaderboardPolicy.BEST
    chosen = Representative.best_id if best else Representative.latest_id
    if phase is not None and phase.allow_pinning:
        pinned = Representative.pinned_best_id if best else Representative.pinned_latest_id
        return func.coalesce(pinned, chosen)
    return chosen


def among(session: Session, column: Any, ids: Iterable[int]) -> Any:
    """`column IN ids`; on PostgreSQL as one array parameter: psycopg spends 20-40 ms taking
    apart a statement with 2,000 placeholders, each time it is run."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(list(ids))


def _by_mean_rank(entries: list[Entry], ranked: dict[int, dict[str, float]]) -> list[Entry]:
    """The rows ordered by their mean rank over the scenarios on the ranking metric (1 =
    best; a scenario a row left out ranks it last), ties to the earlier submission; the
    mean rank is the row's score. The interval, of the mean metric, would not be of it."""
    ranks = mean_ranks([ranked.get(e.submission_id, {}) for e in entries])
    order = sorted(
        zip(ranks, entries, strict=True),
        key=lambda pair: (pair[0], pair[1].submitted_at, pair[1].submission_id),
    )
    return [
        replace(entry, rank=i, ranking_score=mean, ci_low=None, ci_high=None)
        for i, (mean, entry) in enumerate(order, start=1)
    ]


def own_rows(session: Session, track: Track, user: User, entries: Sequence[Entry]) -> set[int]:
    """The submissions of the rows that are the viewer's: their own (uploaded alone) and their
    team's, in the track's ranking `entries`."""
    team = select(TeamMember.team_id).where(TeamMember.user_id == user.id).scalar_subquery()
    ids = set(
        session.scalars(
            select(Submission.id).where(
                Submission.track_id == track.id,
                or_(
                    and_(Submission.user_id == user.id, Submission.team_id.is_(None)),
                    Submission.team_id == team,
                ),
            )
        )
    )
    return {e.submission_id for e in entries if e.submission_id in ids}


def tied_with_leader(entries: Sequence[Entry]) -> set[int]:
    """The submissions (after the first row) whose interval overlaps the leader's: at 95% the
    data cannot tell them apart from it. Empty while the leader's interval is missing."""
    if not entries or entries[0].ci_low is None or entries[0].ci_high is None:
        return set()
    low, high = entries[0].ci_low, entries[0].ci_high
    return {
        e.submission_id
        for e in entries[1:]
        if e.ci_low is not None and e.ci_high is not None and e.ci_low <= high and low <= e.ci_high
    }


def with_rank_intervals(session: Session, split: str, entries: list[Entry]) -> list[Entry]:
    """The rows with their rank intervals and groups (`rank_intervals`), from the replicates
    stored with their rankings; rows still without them are left out of the ranking and keep
    None."""
    ids = [e.submission_id for e in entries]
    stored = dict(
        session.execute(
            select(Ranking.submission_id, Ranking.replicates).where(
                Ranking.split == split,
                among(session, Ranking.submission_id, ids),
                Ranking.replicates.is_not(None),
            )
        )
        .tuples()
        .all()
    )
    return rank_intervals(entries, {i: np.frombuffer(b, "<f4") for i, b in stored.items() if b})


def rank_intervals(
    entries: list[Entry], replicated: dict[int, NDArray[np.float32]], confidence: float = 0.95
) -> list[Entry]:
    """Each row's rank in every common replicate (all rows scored under the same weights:
    `app.scoring.bootstrap`), among the rows that have replicates, equal scores sharing the
    better rank; its rank interval, the central `confidence` share of those ranks; and its
    group: a row joins the group above it while its rank interval overlaps the group's first
    row's, else starts the next. Anchored on the group's first row, not chained row to row,
    so that a group never holds two rows the data can tell apart from each other (the first
    row, at least, apart from the last)."""
    sizes = {v.size for v in replicated.values()}
    ranked = [e for e in entries if e.submission_id in replicated]
    if not ranked or len(sizes) != 1:  # none yet, or of two lengths (never, by the seeds)
        return entries
    # One row per replicate: sorting contiguous rows is three times faster than columns.
    scores = np.stack([replicated[e.submission_id] for e in ranked], axis=1).astype(np.float64)
    scores[~np.isfinite(scores)] = -np.inf  # a replicate without a score ranks the row last
    order = np.argsort(-scores, axis=1)  # any order among equals: they share their rank
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, _tied_ranks(np.take_along_axis(scores, order, 1)), axis=1)
    tail = (1 - confidence) / 2
    at = np.around(np.array([tail, 1 - tail]) * (ranks.shape[0] - 1)).astype(np.intp)
    # Per row, its ranks with those two in the places a sort would put them (numpy's
    # "nearest" percentiles), the rest unsorted: 55 ms instead of 74 at 2,000 x 1,000.
    spread = np.partition(ranks.T, at, axis=1)
    low, high = spread[:, at[0]], spread[:, at[1]]
    found: dict[int, tuple[int, int, int]] = {}
    group, head_high = 0, 0
    for entry, lo, hi in zip(ranked, low.astype(int), high.astype(int), strict=True):
        if group == 0 or lo > head_high:
            group, head_high = group + 1, int(hi)
        found[entry.submission_id] = (int(lo), int(hi), group)
    return [
        replace(e, rank_low=r[0], rank_high=r[1], group=r[2])
        if (r := found.get(e.submission_id))
        else e
        for e in entries
    ]


def _tied_ranks(ordered: NDArray[np.float64]) -> NDArray[np.intp]:
    """Ranks of each row's scores (sorted, best first): 1 plus how many score strictly more,
    so that equal scores (identical predictions) share the better rank."""
    position = np.arange(1, ordered.shape[1] + 1)[None, :]
    new = np.ones(ordered.shape, bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ranks: NDArray[np.intp] = np.maximum.accumulate(np.where(new, position, 0), axis=1)
    return ranks


def _ladder(session: Session, track: Track, split: str, eta: float) -> list[Entry]:
    """The Ladder: going through each participant's submissions in time, the shown score moves
    only for one that beats it by more than eta, and is shown rounded to eta. No per-scenario
    metric and no interval is shown: either would give the exact score away (an interval is
    centred near it), so the entries keep ci_low and ci_high None."""
    rows = session.execute(
        rankable(
            track.id,
            track.competition_id,
            Submission.id,
            Submission.user_id,
            Submission.team_id,
            Submission.created_at,
            Ranking.ranking_score,
            owner().label("owner"),
        )
        .where(Ranking.split == split, ~in_benchmark())
        .order_by(Submission.created_at, Submission.id)
    ).all()
    shown: dict[int, tuple[float, Any]] = {}
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.owner] = counts.get(row.owner, 0) + 1
        standing = shown.get(row.owner)
        if standing is None or row.ranking_score > standing[0] + eta:
            shown[row.owner] = (round(round(row.ranking_score / eta) * eta, 10), row)
    ordered = sorted(shown.values(), key=lambda v: (-v[0], v[1].created_at, v[1].id))
    names = _names(session, [row for _, row in ordered])
    return [
        Entry(
            rank=i,
            participant=names[row.owner],
            submission_id=row.id,
            ranking_score=score,
            submitted_at=row.created_at,
            submissions=counts[row.owner],
        )
        for i, (score, row) in enumerate(ordered, start=1)
    ]


def _names(session: Session, rows: Sequence[Any]) -> dict[int, str]:
    """Display names keyed as the owner is: a team by minus its id, a user by its id."""
    team_ids = {row.team_id for row in rows if row.team_id}
    user_ids = {row.user_id for row in rows if not row.team_id}
    names: dict[int, str] = {}
    if team_ids:
        names |= {
            -i: n
            for i, n in session.execute(
                select(Team.id, Team.name).where(Team.id.in_(team_ids))
            ).tuples()
        }
    if user_ids:
        names |= dict(
            session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
            .tuples()
            .all()
        )
    return names


def _add_scenarios(
    session: Session, entries: list[Entry], split: str, rules: Rules
) -> dict[int, dict[str, float]]:
    """Each row's shown metrics per scenario; and, for `mean_rank`, each submission's
    ranking metric per scenario (whether shown or not)."""
    by_submission = {entry.submission_id: entry for entry in entries}
    ranked: dict[int, dict[str, float]] = {}
    if not by_submission:
        return ranked
    rows = session.execute(
        select(Score.submission_id, Scenario.name, Score.metrics)
        .join(Scenario, Scenario.id == Score.scenario_id)
        .where(among(session, Score.submission_id, by_submission), Score.split == split)
        .order_by(Scenario.name)
    ).tuples()
    for submission_id, name, metrics in rows:
        shown = {k: metrics[k] for k in rules.metrics if k in metrics}
        by_submission[submission_id].scenarios[name] = shown
        if rules.by_mean_rank and rules.ranking_key in metrics:
            ranked.setdefault(submission_id, {})[name] = metrics[rules.ranking_key]
    return ranked


def with_reveal(session: Session, track: Track, split: str, entries: list[Entry]) -> list[Entry]:
    """Mark each row with its rank at the last reveal, so a later change shows as one."""
    record = session.scalar(
        select(Reveal)
        .where(Reveal.track_id == track.id, Reveal.split == split)
        .order_by(Reveal.id.desc())
    )
    if record is None:
        return entries
    then = {e["participant"]: e["rank"] for e in record.entries}
    return [replace(entry, revealed_rank=then.get(entry.participant)) for entry in entries]


def reveal(session: Session, competition: Competition, organizer: User) -> list[Reveal]:
    """Show every hidden split to everyone, and keep each track's ranking as revealed (the
    route's guard has checked the organizer)."""
    hidden_splits = [s for s in splits_of(session, competition) if hidden(session, competition, s)]
    if not hidden_splits:
        raise Invalid(f"{competition.title} has nothing hidden to reveal")
    now = utcnow()
    records = [
        Reveal(
            competition_id=competition.id,
            track_id=track.id,
            split=split,
            revealed_at=now,
            revealed_by=organizer.id,
            entries=[e.to_dict() for e in standings(session, competition, track, split)],
        )
        for track in tracks_of(session, competition)
        for split in hidden_splits
    ]
    competition.revealed_at = now
    session.add_all(records)
    notices.results_revealed(session, competition, now)
    audit.record(session, competition, organizer, "leaderboard.reveal", {"splits": hidden_splits})
    return records


def hide(session: Session, competition: Competition, organizer: User) -> None:
    """Hide the revealed splits again (the records of the reveal stay)."""
    competition.revealed_at = None
    audit.record(session, competition, organizer, "leaderboard.hide", {})


def top_rocs(
    session: Session, entries: list[Entry], split: str, top: int = 5
) -> dict[str, list[tuple[str, dict[str, list[float]]]]]:
    """Per scenario, the ROC curves of the first `top` rows: (participant, curve), in rank order."""
    leaders = {entry.submission_id: entry.participant for entry in entries[:top]}
    if not leaders:
        return {}
    rows = session.execute(
        select(Score.submission_id, Scenario.name, Score.roc)
        .join(Scenario, Scenario.id == Score.scenario_id)
        .where(Score.submission_id.in_(list(leaders)), Score.split == split)
        .order_by(Scenario.name)
    ).tuples()
    order = list(leaders)
    curves: dict[str, list[tuple[int, str, dict[str, list[float]]]]] = {}
    for submission_id, name, roc in rows:
        curves.setdefault(name, []).append(
            (order.index(submission_id), leaders[submission_id], roc)
        )
    return {name: [(who, roc) for _, who, roc in sorted(c)] for name, c in curves.items()}


def signature(session: Session, competition: Competition, track: Track, split: str) -> Any:
    """What a leaderboard depends on that changes while a competition runs, in a few cheap
    queries: a leaderboard whose signature has not changed need not be ranked again. Names
    (a team renamed) are not in it: kept leaderboards are made again after MAX_AGE anyway."""
    picks = (
        Representative.latest_id,
        Representative.best_id,
        Representative.pinned_latest_id,
        Representative.pinned_best_id,
    )
    # Read off the representatives, one row per participant: a new score, a pin, a
    # disqualification moves a pick, a count or a sum of the picks' scores; the intervals job
    # fills in the picks' intervals.
    submissions = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Representative.submissions), 0),
            func.max(Representative.refreshed_at),
            func.coalesce(func.sum(sum(func.coalesce(p, 0) for p in picks)), 0),
            func.sum(Ranking.ranking_score),
            func.count(Ranking.ci_low),
        )
        .select_from(Representative)
        .outerjoin(Ranking, (Ranking.split == split) & Ranking.submission_id.in_(picks))
        .where(Representative.track_id == track.id, Representative.split == split)
    ).one()
    banned = session.scalar(
        select(func.coalesce(func.sum(Registration.user_id), 0)).where(
            Registration.competition_id == competition.id,
            Registration.status == RegistrationStatus.BANNED,
        )
    )
    phases = session.execute(
        select(
            Phase.id,
            Phase.starts_at,
            Phase.ends_at,
            Phase.accepts_uploads,
            Phase.leaderboard_policy,
            Phase.allow_pinning,
            Phase.ladder_eta,
            Phase.shown_splits,
            Phase.scored_splits,
        )
        .where(Phase.competition_id == competition.id)
        .order_by(Phase.id)
    ).all()
    reveals = session.scalar(
        select(func.count()).where(Reveal.track_id == track.id, Reveal.split == split)
    )
    revealed_at = session.scalar(
        select(Competition.revealed_at).where(Competition.id == competition.id)
    )
    return (
        tuple(submissions),
        banned,
        [(*row[:7], tuple(row[7]), tuple(row[8])) for row in phases],
        reveals,
        revealed_at,
    )


MAX_AGE = 60.0  # seconds: a kept leaderboard is made again at least this often
# Seconds past fresh during which a kept leaderboard is still served while the next is made;
# older, the reader waits (after a quiet spell nobody gets a leaderboard minutes old).
STALE_GRACE = 10.0


class StandingsCache:
    """Leaderboards (their rows, JSON and HTML) kept per process for every reader, made again
    at most once per `seconds`: a new score shows within that time. No reader waits for a
    ranking to be made again: a stale one is served while a thread makes the next (only the
    very first reader of a leaderboard waits). `make` must therefore use its own session."""

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = monotonic,
        on_made: Callable[[float], None] | None = None,
    ) -> None:
        self.seconds = seconds
        self._clock = clock  # seconds, only ever compared: tests pass one they move on
        self._on_made = on_made  # told how long each make took (the ranking work done)
        self._kept: dict[Hashable, tuple[float, Any]] = {}
        self._made: dict[Hashable, float] = {}  # when each kept value was made
        self._locks: defaultdict[Hashable, threading.Lock] = defaultdict(threading.Lock)

    def peek(
        self, key: Hashable, *, stale: bool = False, within: float | None = None
    ) -> Any | None:
        """What is kept for `key` if it is still fresh (or, with `stale`, young enough to
        serve while the next is made: STALE_GRACE seconds past fresh; or, `within`, kept
        less than that many seconds ago), else None."""
        kept = self._kept.get(key)
        limit = within if within is not None else self.seconds + (STALE_GRACE if stale else 0.0)
        if kept is None or self._clock() - kept[0] >= limit:
            return None
        return kept[1]

    def clear(self) -> None:
        """Forget everything kept (a reveal or a hide: no one may see the old split)."""
        self._kept.clear()
        self._made.clear()

    def put(self, key: Hashable, value: object) -> None:
        """Keep `value` for `key` from now."""
        self._kept[key] = (self._clock(), value)

    def get(
        self, key: Hashable, make: Callable[[], T], current: Callable[[T], bool] | None = None
    ) -> T:
        """What `make` makes, from the cache while fresh; when stale, the last one while a
        thread of its own makes the next, unless `current` says the last one still is (then
        it is kept, for MAX_AGE at most)."""
        if self.seconds <= 0:
            return make()
        kept = self._kept.get(key)
        age = self._clock() - kept[0] if kept is not None else float("inf")
        if kept is not None and age < self.seconds:
            return cast(T, kept[1])
        lock = self._locks[key]
        if kept is not None and age < self.seconds + STALE_GRACE:
            if lock.acquire(blocking=False):
                threading.Thread(
                    target=self._remake,
                    args=(key, make, current, lock),
                    daemon=True,
                    name="standings",
                ).start()
            return cast(T, kept[1])
        with lock:  # nothing kept, or too old to serve: this reader waits for a current one
            kept = self._kept.get(key)
            if kept is None or self._clock() - kept[0] >= self.seconds:
                self._refresh(key, make, current)
            return cast(T, self._kept[key][1])

    def _remake(
        self,
        key: Hashable,
        make: Callable[[], T],
        current: Callable[[T], bool] | None,
        lock: threading.Lock,
    ) -> None:
        try:
            self._refresh(key, make, current)
        except Exception:  # the stale one stays; the next reader tries again
            logger.exception("could not make leaderboard %r again", key)
        finally:
            lock.release()

    def _refresh(
        self, key: Hashable, make: Callable[[], T], current: Callable[[T], bool] | None
    ) -> None:
        kept = self._kept.get(key)
        young = self._clock() - self._made.get(key, 0.0) < MAX_AGE
        if kept is not None and current is not None and young and current(kept[1]):
            self._kept[key] = (self._clock(), kept[1])  # nothing changed: checked again later
        else:
            began = perf_counter()
            self._kept[key] = (self._clock(), make())
            self._made[key] = self._kept[key][0]
            if self._on_made is not None:
                self._on_made(perf_counter() - began)
