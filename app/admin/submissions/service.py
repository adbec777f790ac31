"""The competition's submissions as organizers run them: the list with exact scores, rescore
and disqualify. Every change goes to the audit log; the router's organizer dependency is the
one check of who may do this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.admin.paging import PER_PAGE, Page, offset_of
from app.competitions import audit
from app.core.db import row_by_id
from app.core.errors import Invalid, NotFound
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.scenario import Scenario
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.team import Team
from app.models.track import Track
from app.models.user import User
from app.submissions.pipeline import rescore

S = TypeVar("S", bound=Select[Any])


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
    offset: int = 0,
) -> list[SubmissionRow]:
    """The competition's submissions, newest first, filtered by track, status and participant
    (a display or team name, any letter case)."""
    query = (
        _filtered(
            select(Submission, Track.name, User.display_name, Team.name),
            competition,
            track=track,
            status=status,
            participant=participant,
        )
        .order_by(Submission.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if submission_id is not None:
        query = query.where(Submission.id == submission_id)
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


def submissions_page(
    session: Session,
    competition: Competition,
    number: int,
    *,
    track: str | None = None,
    status: SubmissionStatus | None = None,
    participant: str | None = None,
) -> Page[SubmissionRow]:
    """Page `number` of the filtered list, and how many submissions the filters keep: three
    statements whatever the page (the count, the rows, their rankings)."""
    count = _filtered(
        select(func.count()), competition, track=track, status=status, participant=participant
    )
    rows = submissions_of(
        session,
        competition,
        track=track,
        status=status,
        participant=participant,
        limit=PER_PAGE,
        offset=offset_of(number),
    )
    total = session.scalar(count) or 0
    return Page(rows, number, total)


def _filtered(
    query: S,
    competition: Competition,
    *,
    track: str | None,
    status: SubmissionStatus | None,
    participant: str | None,
) -> S:
    query = (
        query.select_from(Submission)
        .join(Track, Track.id == Submission.track_id)
        .join(User, User.id == Submission.user_id)
        .outerjoin(Team, Team.id == Submission.team_id)
        .where(Track.competition_id == competition.id)
    )
    if track:
        query = query.where(Track.name == track)
    if status is not None:
        query = query.where(Submission.status == status)
    if participant:
        name = participant.strip().lower()
        query = query.where(
            or_(func.lower(User.display_name) == name, func.lower(Team.name) == name)
        )
    return query


@dataclass(frozen=True)
class SubmissionDetail:
    """One submission as organizers inspect it: who uploaded it, and every scored split's
    exact ranking score and per-scenario metrics, shown or not to participants."""

    submission: Submission
    track: Track
    phase: Phase
    submitter: User
    team: str | None
    rankings: dict[str, float]
    scores: dict[str, list[tuple[str, Score]]]  # split -> (scenario, score), by scenario name


def submission_detail(
    session: Session, competition: Competition, submission_id: int
) -> SubmissionDetail:
    """The organizers' view of one of the competition's submissions, or NotFound."""
    submission = submission_in(session, competition, submission_id)
    team = session.get(Team, submission.team_id) if submission.team_id else None
    rankings = dict(
        session.execute(
            select(Ranking.split, Ranking.ranking_score).where(
                Ranking.submission_id == submission.id
            )
        )
        .tuples()
        .all()
    )
    scores: dict[str, list[tuple[str, Score]]] = {}
    for name, score in session.execute(
        select(Scenario.name, Score)
        .join(Scenario, Scenario.id == Score.scenario_id)
        .where(Score.submission_id == submission.id)
        .order_by(Score.split, Scenario.name)
    ).tuples():
        scores.setdefault(score.split, []).append((name, score))
    return SubmissionDetail(
        submission,
        session.get_one(Track, submission.track_id),
        session.get_one(Phase, submission.phase_id),
        session.get_one(User, submission.user_id),
        team.name if team else None,
        rankings,
        scores,
    )


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
    ids = rescore(session, send, submissions)
    audit.record(
        session,
        competition,
        organizer,
        "submission.rescore",
        {"submissions": ids[:100], "count": len(ids)},
    )
    return ids
