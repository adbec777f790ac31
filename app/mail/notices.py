"""Notices: what happened to a person's submissions, registrations and competitions, by mail
to those who keep notices on. Each is written in the transaction of its event (so it goes only
if the event is committed) and at most once per event and person."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.core.db import SessionFactory, committing
from app.mail import service as mail
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.submission import Submission
from app.models.track import Track
from app.models.user import User

CLOSING = timedelta(hours=24)  # "about to close": this long before a phase's end
# A phase that opened longer ago than this is not announced (a new server, an old phase).
OPENED_RECENTLY = timedelta(days=1)
PHASES_LOCK = 0x6D69615F6D6C  # "mia_ml": one phase sweep at a time across machines


def submission_failed(session: Session, submission_id: int) -> None:
    """Tell the uploader that their submission could not be scored, and why."""
    submission = session.get_one(Submission, submission_id)
    track = session.get_one(Track, submission.track_id)
    competition = session.get_one(Competition, track.competition_id)
    user = session.get_one(User, submission.user_id)
    mail.notify(
        session,
        user,
        "submission_failed",
        once=f"failed:{submission.id}:{submission.attempts}:{user.id}",
        name=user.display_name,
        submission_id=submission.id,
        competition=competition.title,
        track=track.name,
        error=submission.error or "no reason given",
        path=f"/submissions/{submission.id}",
    )


def registration_decided(
    session: Session, competition: Competition, registration: Registration
) -> None:
    """Tell a participant that organizers approved or rejected their registration."""
    user = session.get_one(User, registration.user_id)
    decision = registration.status.value
    mail.notify(
        session,
        user,
        "registration_decided",
        name=user.display_name,
        competition=competition.title,
        decision=decision,
        path=f"/competitions/{competition.slug}",
    )


def results_revealed(session: Session, competition: Competition, revealed_at: datetime) -> None:
    """Tell every approved participant that the competition's results are out."""
    track = session.scalar(
        select(Track).where(Track.competition_id == competition.id).order_by(Track.id)
    )
    path = f"/competitions/{competition.slug}"
    if track is not None:
        path += f"/tracks/{track.name}/leaderboard"
    for user in _participants(session, competition):
        mail.notify(
            session,
            user,
            "results_revealed",
            once=f"revealed:{competition.id}:{revealed_at.isoformat()}:{user.id}",
            name=user.display_name,
            competition=competition.title,
            phase=None,
            path=path,
        )


def sweep_phases(factory: SessionFactory, now: datetime | None = None) -> None:
    """Notices of phases that opened lately, and of phases closing within a day: once each
    per participant (their keys say so), however often this runs."""
    now = now or utcnow()
    with committing(factory()) as session:
        if session.get_bind().dialect.name == "postgresql" and not session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PHASES_LOCK}
        ):
            return
        rows = session.execute(
            select(Phase, Competition)
            .join(Competition, Competition.id == Phase.competition_id)
            .where(
                (Phase.ends_at.is_(None)) | (Phase.ends_at > now),
                (Phase.starts_at.is_(None)) | (Phase.starts_at <= now),
            )
        ).tuples()
        for phase, competition in rows:
            opened = phase.starts_at is not None and phase.starts_at > now - OPENED_RECENTLY
            closing = phase.ends_at is not None and phase.ends_at <= now + CLOSING
            if opened and not closing:
                _phase_notice(session, competition, phase, "phase_opened")
            if closing:
                _phase_notice(session, competition, phase, "phase_closing")


def _phase_notice(session: Session, competition: Competition, phase: Phase, kind: str) -> None:
    ends = f"{phase.ends_at:%Y-%m-%d %H:%M} UTC" if phase.ends_at else None
    for user in _participants(session, competition):
        mail.notify(
            session,
            user,
            kind,
            once=f"{kind}:{phase.id}:{user.id}",
            name=user.display_name,
            competition=competition.title,
            phase=phase.name,
            ends=ends,
            path=f"/competitions/{competition.slug}",
        )


def _participants(session: Session, competition: Competition) -> list[User]:
    """The approved participants of a competition who keep notices on."""
    return list(
        session.scalars(
            select(User)
            .join(Registration, Registration.user_id == User.id)
            .where(
                Registration.competition_id == competition.id,
                Registration.status == RegistrationStatus.APPROVED,
                User.notices.is_(True),
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )
