"""A track's statistics (entries, who submitted, who registered, entries per day, the best
score over time) and its analysis (each scenario's ranking metric across the participants'
representative submissions), as the MICO organizers tabulated them per track."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.competitions.visibility import ranking_phase
from app.core.charts_stats import Spread
from app.leaderboard import service
from app.leaderboard.rules import Rules
from app.models.competition import Competition
from app.models.ranking import Ranking
from app.models.registration import Registration, RegistrationStatus
from app.models.scenario import Scenario
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track


@dataclass(frozen=True)
class Counts:
    """A track's figures: entries (scored submissions), the people who sent them, and the
    competition's approved registrations (tracks share them)."""

    entries: int
    submitters: int
    registered: int


@dataclass(frozen=True)
class Best:
    """A moment the best ranking score so far rose: when, to what, by whose entry."""

    at: datetime
    score: float
    participant: str


def counts(session: Session, competition: Competition, track: Track) -> Counts:
    """The figures of the seed's table of entries and participants per track."""
    entries, submitters = session.execute(
        select(func.count(), func.count(func.distinct(Submission.user_id))).where(
            Submission.track_id == track.id, Submission.status == SubmissionStatus.SCORED
        )
    ).one()
    registered = session.scalar(
        select(func.count()).where(
            Registration.competition_id == competition.id,
            Registration.status == RegistrationStatus.APPROVED,
        )
    )
    return Counts(entries, submitters, registered or 0)


def per_day(session: Session, track: Track) -> list[tuple[date, int]]:
    """Entries per UTC day from the first day to the last, days without any included."""
    times = session.scalars(
        select(Submission.created_at).where(
            Submission.track_id == track.id, Submission.status == SubmissionStatus.SCORED
        )
    ).all()
    days: dict[date, int] = {}
    for at in times:
        days[at.date()] = days.get(at.date(), 0) + 1
    if not days:
        return []
    first, last = min(days), max(days)
    return [
        (first + timedelta(n), days.get(first + timedelta(n), 0))
        for n in range((last - first).days + 1)
    ]


def best_over_time(
    session: Session, competition: Competition, track: Track, split: str, *, ladder: bool
) -> list[Best]:
    """Each rise of the best ranking score on `split` among the entries that may be ranked,
    in time. Under the Ladder (`ladder`: this viewer sees it) the best moves only by more
    than its step and shows rounded to it, as the leaderboard does: no exact score leaks."""
    phase = ranking_phase(session, competition, split)
    eta = phase.ladder_eta if ladder and phase is not None else None
    rows = session.execute(
        select(Submission.created_at, Ranking.ranking_score, Submission.user_id, Submission.team_id)
        .join(Ranking, (Ranking.submission_id == Submission.id) & (Ranking.split == split))
        .where(
            Submission.track_id == track.id,
            Submission.status == SubmissionStatus.SCORED,
            Submission.disqualified.is_(None),
            ~_banned(competition).exists(),
        )
        .order_by(Submission.created_at, Submission.id)
    ).all()
    rises: list[tuple[datetime, float, Any]] = []
    for row in rows:
        best = rises[-1][1] if rises else None
        if best is None or row.ranking_score > best + (eta or 0.0):
            score = round(round(row.ranking_score / eta) * eta, 10) if eta else row.ranking_score
            rises.append((row.created_at, score, row))
    names = service._names(session, [row for _, _, row in rises])
    return [
        Best(at, score, names[-row.team_id if row.team_id else row.user_id])
        for at, score, row in rises
    ]


def _banned(competition: Competition) -> Select[tuple[int]]:
    """A registration banning the submission's uploader from the competition."""
    return select(Registration.id).where(
        Registration.competition_id == competition.id,
        Registration.user_id == Submission.user_id,
        Registration.status == RegistrationStatus.BANNED,
    )


@dataclass(frozen=True)
class Analysis:
    """A split's final leaderboard and, per scenario, each row's ranking metric."""

    split: str
    rules: Rules
    entries: list[service.Entry]
    metric: dict[int, dict[str, float]]  # submission -> scenario -> ranking metric
    scenarios: list[str]

    def spreads(self) -> list[Spread]:
        """Each scenario's values across the rows, for the chart."""
        return [
            Spread(name, tuple(m[name] for m in self.metric.values() if name in m))
            for name in self.scenarios
        ]


def analysis(
    session: Session, competition: Competition, track: Track, split: str, rules: Rules
) -> Analysis:
    """The exact standings on `split` (the caller has checked the viewer may see it and
    that no Ladder hides it) with each representative submission's ranking metric."""
    entries = service.standings(session, competition, track, split, exact=True, rules=rules)
    metric: dict[int, dict[str, float]] = {}
    ids = [e.submission_id for e in entries]
    names = list(
        session.scalars(
            select(Scenario.name).where(Scenario.track_id == track.id).order_by(Scenario.name)
        )
    )
    if ids:
        rows = session.execute(
            select(Score.submission_id, Scenario.name, Score.metrics)
            .join(Scenario, Scenario.id == Score.scenario_id)
            .where(Score.submission_id.in_(ids), Score.split == split)
        ).tuples()
        for submission_id, name, metrics in rows:
            if rules.ranking_key in metrics:
                metric.setdefault(submission_id, {})[name] = float(metrics[rules.ranking_key])
    metric = {i: metric[i] for i in ids if i in metric}  # in rank order
    return Analysis(split, rules, entries, metric, names)
