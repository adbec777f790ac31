"""Who takes part, as organizers run it: every registration with its team, submissions and
limit overrides; approve, reject, ban and unban; per-participant limits. Every change goes to
the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.admin.paging import PER_PAGE, Page, offset_of
from app.competitions import audit
from app.core.db import MAX_ID
from app.core.errors import Invalid, NotFound
from app.models.competition import Competition
from app.models.registration import Registration, RegistrationStatus
from app.models.submission import Submission
from app.models.team import Team
from app.models.team_member import TeamMember
from app.models.track import Track
from app.models.user import User

MAX_LIMIT = 1_000_000  # as a phase's limits
PAGE_ROWS = 500  # rows the API answers unless asked for more
S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class ParticipantRow:
    """A registration as the organizers' list shows it."""

    registration: Registration
    user: User
    team: str | None
    submissions: int


def participants(
    session: Session,
    competition: Competition,
    *,
    status: RegistrationStatus | None = None,
    search: str | None = None,
    user_id: int | None = None,
    limit: int = PAGE_ROWS,
    offset: int = 0,
) -> list[ParticipantRow]:
    """The competition's registrations, oldest first, filtered by status and by a piece of the
    display name, email or team name (any letter case)."""
    query = (
        _filtered(select(Registration, User, Team.name), competition, status, search)
        .order_by(Registration.id)
        .limit(limit)
        .offset(offset)
    )
    if user_id is not None:
        query = query.where(Registration.user_id == user_id)
    rows = session.execute(query).tuples().all()
    counts = _submission_counts(session, competition, [user.id for _, user, _ in rows])
    return [ParticipantRow(r, u, team, counts.get(u.id, 0)) for r, u, team in rows]


def participants_page(
    session: Session,
    competition: Competition,
    number: int,
    *,
    status: RegistrationStatus | None = None,
    search: str | None = None,
) -> Page[ParticipantRow]:
    """Page `number` of the filtered registrations and how many there are: three statements
    whatever the page."""
    total = session.scalar(_filtered(select(func.count()), competition, status, search)) or 0
    rows = participants(
        session,
        competition,
        status=status,
        search=search,
        limit=PER_PAGE,
        offset=offset_of(number),
    )
    return Page(rows, number, total)


def _filtered(
    query: S, competition: Competition, status: RegistrationStatus | None, search: str | None
) -> S:
    query = (
        query.select_from(Registration)
        .join(User, User.id == Registration.user_id)
        .outerjoin(TeamMember, TeamMember.user_id == User.id)
        .outerjoin(Team, Team.id == TeamMember.team_id)
        .where(Registration.competition_id == competition.id)
    )
    if status is not None:
        query = query.where(Registration.status == status)
    if search and search.strip():
        piece = search.strip().lower()
        query = query.where(
            or_(
                func.lower(User.display_name).contains(piece, autoescape=True),
                func.lower(User.email).contains(piece, autoescape=True),
                func.lower(Team.name).contains(piece, autoescape=True),
            )
        )
    return query


def _submission_counts(
    session: Session, competition: Competition, user_ids: list[int]
) -> dict[int, int]:
    """How many submissions each user uploaded to the competition, in any status."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(Submission.user_id, func.count())
        .join(Track, Track.id == Submission.track_id)
        .where(Track.competition_id == competition.id, Submission.user_id.in_(user_ids))
        .group_by(Submission.user_id)
    ).tuples()
    return dict(rows.all())


def registration_in(session: Session, competition: Competition, user_id: int) -> Registration:
    """The registration of user `user_id` to the competition, or NotFound."""
    registration = None
    if 1 <= user_id <= MAX_ID:
        registration = session.scalar(
            select(Registration).where(
                Registration.competition_id == competition.id, Registration.user_id == user_id
            )
        )
    if registration is None:
        raise NotFound(f"user {user_id} is not registered to {competition.title}")
    return registration


@dataclass(frozen=True)
class Limits:
    """A participant's own limits; None means the phase's."""

    max_per_day: int | None
    max_total: int | None


def set_limits(
    session: Session,
    competition: Competition,
    organizer: User,
    registration: Registration,
    limits: Limits,
) -> Registration:
    """Give a participant their own limits (per UTC day, in all), replacing the phase's for
    them; None gives the phase's back."""
    for name, value in vars(limits).items():
        if value is not None and not 0 <= value <= MAX_LIMIT:
            raise Invalid(f"{name.replace('_', ' ')} is between 0 and {MAX_LIMIT:,}, or empty")
    registration.max_per_day = limits.max_per_day
    registration.max_total = limits.max_total
    audit.record(
        session,
        competition,
        organizer,
        "registration.limits",
        {"user_id": registration.user_id, **vars(limits)},
    )
    return registration
