"""Taking part: registering to a competition by accepting its terms, and organizers deciding."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.competitions import audit
from app.core.db import row_by_id
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.mail import notices
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.organizer import CompetitionOrganizer
from app.models.phase import Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.track import Track
from app.models.user import Role, User

# Where a registration may go from (a target is reached from these statuses only).
_FROM: dict[RegistrationStatus, set[RegistrationStatus]] = {
    RegistrationStatus.APPROVED: {
        RegistrationStatus.PENDING,
        RegistrationStatus.REJECTED,
        RegistrationStatus.BANNED,
    },
    RegistrationStatus.REJECTED: {RegistrationStatus.PENDING},
    RegistrationStatus.BANNED: {
        RegistrationStatus.PENDING,
        RegistrationStatus.APPROVED,
        RegistrationStatus.REJECTED,
    },
    RegistrationStatus.PENDING: set(),
}


# What a participant accepts when the organizers have written no terms of their own.
DEFAULT_TERMS = "By taking part you agree to play fair and not to share the hidden labels."


def terms_of(competition: Competition) -> str:
    """The terms a participant accepts: the organizers' Markdown, or the default ones."""
    return competition.terms_md.strip() or DEFAULT_TERMS


def terms_version(competition: Competition) -> str:
    """The version of the terms as they stand: the SHA-256 of their text."""
    return hashlib.sha256(terms_of(competition).encode()).hexdigest()


def organizes(session: Session, competition: Competition, user: User | None) -> bool:
    """True for the competition's own organizers and for admins (who organize every one).

    Asked several times a request: remembered for the session (`add_organizer` forgets it).
    """
    if user is None:
        return False
    if user.role is Role.ADMIN:
        return True
    memo: dict[tuple[int, int], bool] = session.info.setdefault("mia_organizes", {})
    key = (competition.id, user.id)
    if key not in memo:
        memo[key] = session.get(CompetitionOrganizer, key) is not None
    return memo[key]


def require_organizer(session: Session, competition: Competition, user: User) -> None:
    """Forbidden unless the user organizes this competition."""
    if not organizes(session, competition, user):
        raise Forbidden(f"only organizers of {competition.title} may do this")


def organizers_of(session: Session, competition: Competition) -> list[User]:
    """The users listed as the competition's organizers, by display name."""
    return list(
        session.scalars(
            select(User)
            .join(CompetitionOrganizer, CompetitionOrganizer.user_id == User.id)
            .where(CompetitionOrganizer.competition_id == competition.id)
            .order_by(User.display_name)
        )
    )


def add_organizer(
    session: Session, competition: Competition, user: User, actor: User | None = None
) -> bool:
    """List `user` as an organizer of the competition (audited; `actor` None: the command
    line); False when already listed."""
    session.info.pop("mia_organizes", None)
    if session.get(CompetitionOrganizer, (competition.id, user.id)) is not None:
        return False
    session.add(CompetitionOrganizer(competition_id=competition.id, user_id=user.id))
    audit.record(session, competition, actor, "organizer.add", {"user_id": user.id})
    return True


def remove_organizer(
    session: Session, competition: Competition, user: User, actor: User | None = None
) -> bool:
    """Take `user` off the competition's organizers (audited); False when not listed."""
    session.info.pop("mia_organizes", None)
    row = session.get(CompetitionOrganizer, (competition.id, user.id))
    if row is None:
        return False
    session.delete(row)
    audit.record(session, competition, actor, "organizer.remove", {"user_id": user.id})
    return True


def competition_by_slug(session: Session, slug: str) -> Competition:
    """The competition called `slug`, or NotFound."""
    competition = session.scalar(select(Competition).where(Competition.slug == slug))
    if competition is None:
        raise NotFound(f"there is no competition '{slug}'")
    return competition


def all_competitions(session: Session) -> list[Competition]:
    """Every competition, newest first."""
    return list(session.scalars(select(Competition).order_by(Competition.id.desc())))


def tracks_of(session: Session, competition: Competition) -> list[Track]:
    """The competition's tracks, by name."""
    return list(
        session.scalars(
            select(Track).where(Track.competition_id == competition.id).order_by(Track.name)
        )
    )


def track_by_name(session: Session, competition: Competition, name: str) -> Track:
    """The competition's track called `name`, or NotFound naming the tracks there are."""
    tracks = tracks_of(session, competition)
    for track in tracks:
        if track.name == name:
            return track
    known = ", ".join(t.name for t in tracks) or "none yet"
    raise NotFound(f"{competition.title} has no track '{name}'; its tracks: {known}")


def registration_of(session: Session, competition: Competition, user: User) -> Registration | None:
    """A user's registration to a competition, if any."""
    return session.scalar(
        select(Registration).where(
            Registration.competition_id == competition.id, Registration.user_id == user.id
        )
    )


DECISIONS = (RegistrationStatus.APPROVED, RegistrationStatus.REJECTED)  # told by mail


def require_confirmed(user: User) -> None:
    """Forbidden until the account has confirmed its e-mail address (EMAIL_CONFIRMATION)."""
    if user.email_confirmed_at is None:
        raise Forbidden(
            f"confirm your e-mail address first: follow the link we sent to {user.email} "
            "(your account page sends a new one)"
        )


def register(
    session: Session,
    competition: Competition,
    user: User,
    *,
    accept_terms: bool,
    terms_sha256: str | None = None,
) -> tuple[Registration, bool]:
    """Register `user` (the registration, and whether it is new); the terms must be accepted.

    The registration records the version of the terms accepted; `terms_sha256`, the version
    the participant read, must be the current one. Approved at once unless the competition
    asks for an organizer's approval (a living benchmark asks for none). Registering again
    returns the registration as it stands; a banned user is refused.
    """
    existing = registration_of(session, competition, user)
    if existing is not None and existing.status is RegistrationStatus.BANNED:
        raise Forbidden(f"you are banned from {competition.title}")
    if existing is not None:
        return existing, False
    require_confirmed(user)
    if not accept_terms:
        raise Invalid("accept the competition's terms to register")
    version = terms_version(competition)
    if terms_sha256 is not None and terms_sha256 != version:
        raise Conflict(
            f"the terms of {competition.title} changed while you read them: "
            "read the new terms and accept them again"
        )
    waits = competition.requires_approval and not _benchmark_open(session, competition)
    status = RegistrationStatus.PENDING if waits else RegistrationStatus.APPROVED
    registration = Registration(
        competition_id=competition.id,
        user_id=user.id,
        status=status,
        terms_accepted_at=utcnow(),
        terms_sha256=version,
    )
    session.add(registration)
    session.flush()
    return registration, True


def _benchmark_open(session: Session, competition: Competition) -> bool:
    """True once organizers made the competition a living benchmark: anyone who accepts the
    terms may take part in it, without waiting for approval."""
    found = select(Phase.id).where(Phase.competition_id == competition.id, Phase.benchmark)
    return session.scalar(found.limit(1)) is not None


def pending(session: Session, competition: Competition) -> list[tuple[Registration, User]]:
    """Registrations waiting for an organizer, oldest first."""
    rows = session.execute(
        select(Registration, User)
        .join(User, User.id == Registration.user_id)
        .where(
            Registration.competition_id == competition.id,
            Registration.status == RegistrationStatus.PENDING,
        )
        .order_by(Registration.id)
    )
    return [(registration, user) for registration, user in rows.tuples()]


def registration_by_id(
    session: Session, competition: Competition, registration_id: int
) -> Registration:
    """A registration to this competition by its id, or NotFound."""
    registration = row_by_id(session, Registration, registration_id)
    if registration is None or registration.competition_id != competition.id:
        raise NotFound("no such registration in this competition")
    return registration


def change_status(
    session: Session,
    competition: Competition,
    organizer: User,
    registration: Registration,
    status: RegistrationStatus,
) -> Registration:
    """Approve, reject, ban or unban (banned back to approved). The same status again changes
    nothing; a move that makes no sense (rejecting an approved participant) is a Conflict.
    The caller has checked that `organizer` organizes the competition (its route's guard)."""
    before = registration.status
    if status is before:
        return registration
    if before not in _FROM[status]:
        name = session.get_one(User, registration.user_id).display_name
        raise Conflict(_refusal(name, before, status))
    registration.status = status
    if before is RegistrationStatus.PENDING and status in DECISIONS:
        notices.registration_decided(session, competition, registration)
    action = "unbanned" if before is RegistrationStatus.BANNED else status.value
    audit.record(
        session,
        competition,
        organizer,
        f"registration.{action}",
        {"registration_id": registration.id, "user_id": registration.user_id, "was": before.value},
    )
    return registration


def _refusal(name: str, before: RegistrationStatus, status: RegistrationStatus) -> str:
    if status is RegistrationStatus.PENDING:
        return "a registration cannot go back to pending; approve, reject or ban it"
    if before is RegistrationStatus.BANNED:
        return f"{name} is banned; unban them first"
    return f"{name} is {before.value} already; ban them to keep them out"
