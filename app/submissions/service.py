"""Uploading a submission (who may, when, how much) and reading them back (who may see one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.competitions import visibility
from app.competitions.registrations import organizes, registration_of, require_confirmed
from app.competitions.service import definition_of
from app.core import zip_storage
from app.core.db import committing, row_by_id
from app.core.errors import Forbidden, Invalid, NotFound, TooLarge, TooMany
from app.core.sizes import size_text
from app.models import representative
from app.models.competition import Competition
from app.models.phase import LeaderboardPolicy, Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.scenario import Scenario
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.team import Team
from app.models.team_member import TeamMember
from app.models.track import Track
from app.models.user import User
from app.scoring.problems import InvalidInput
from app.scoring.readers import read_submission
from app.teams.service import team_of

MAX_DESCRIPTION = 2000
_REFUSED = {
    RegistrationStatus.PENDING: "your registration to {title} waits for an organizer's approval",
    RegistrationStatus.REJECTED: "your registration to {title} was not approved",
    RegistrationStatus.BANNED: "you are banned from {title}",
}


@dataclass(frozen=True)
class Allowance:
    """How many submissions a participant (or their team) has made and may still make."""

    per_day: int
    used_today: int
    total: int
    used_total: int
    resets_at: datetime  # the next midnight UTC: the day is the UTC calendar day

    @property
    def remaining_today(self) -> int:
        """Uploads left today, the total limit included."""
        return max(0, min(self.per_day - self.used_today, self.total - self.used_total))


def require_participant(session: Session, competition: Competition, user: User) -> Registration:
    """The user's approved registration, or Forbidden saying what to do."""
    registration = registration_of(session, competition, user)
    if registration is None:
        raise Forbidden(
            f"register to {competition.title} first: accept its terms on "
            f"/competitions/{competition.slug}"
        )
    if registration.status is not RegistrationStatus.APPROVED:
        raise Forbidden(_REFUSED[registration.status].format(title=competition.title))
    return registration


def is_open(phase: Phase, now: datetime) -> bool:
    """True when the phase takes uploads at `now`."""
    started = phase.starts_at is None or phase.starts_at <= now
    return phase.accepts_uploads and started and (phase.ends_at is None or now < phase.ends_at)


def open_phase(session: Session, competition: Competition, now: datetime) -> Phase:
    """The phase taking uploads now, or Forbidden saying why none does: the running phase's
    own rule (MICO's Final: which submission is ranked), or when the next one opens."""
    phases = session.scalars(
        select(Phase).where(Phase.competition_id == competition.id).order_by(Phase.id)
    ).all()
    for phase in phases:
        if is_open(phase, now):
            return phase
    upcoming = sorted(
        p.starts_at for p in phases if p.accepts_uploads and p.starts_at and p.starts_at > now
    )
    when = f"the next opens at {upcoming[0]:%Y-%m-%d %H:%M} UTC" if upcoming else ""
    running = [p for p in phases if _running(p, now)]
    if running:  # started and not ended, but taking no uploads
        closed = f"{_phase_label(running[-1])}: uploads are closed"
        ranked = _ranked(session, competition, running[-1])
        raise Forbidden("; ".join(part for part in (closed, ranked, when) if part))
    raise Forbidden(
        f"{competition.title} takes no submissions now; {when or 'no phase is scheduled to open'}"
    )


def _running(phase: Phase, now: datetime) -> bool:
    started = phase.starts_at is not None and phase.starts_at <= now
    return started and (phase.ends_at is None or now < phase.ends_at)


def _phase_label(phase: Phase) -> str:
    """`Final phase` (a name that says `phase` already is kept as it is)."""
    return phase.name if phase.name.lower().endswith("phase") else f"{phase.name} phase"


def _ranked(session: Session, competition: Competition, phase: Phase) -> str:
    """Which submission ranks a participant on the running phase's splits, by the policy of
    the phase whose submissions those splits rank (MICO's Final: Development's)."""
    if not phase.scored_splits:
        return ""
    ranking = visibility.ranking_phase(session, competition, phase.scored_splits[0])
    if ranking is None or ranking.id == phase.id:
        return ""
    which = "best-scoring" if ranking.leaderboard_policy is LeaderboardPolicy.BEST else "latest"
    if ranking.allow_pinning:
        return (
            f"the {ranking.name} submission you chose is ranked (your {which} one where you "
            "chose none)"
        )
    return f"your {which} {ranking.name} submission is ranked"


def allowance(
    session: Session, phase: Phase, user: User, team: Team | None, now: datetime
) -> Allowance:
    """Submissions counted against the limits: all but those the server failed. A team's
    count holds its members' own submissions too, and a participant's their team ones, so
    that making, joining or leaving a team never starts the count again.

    The limits are the phase's, or the uploader's own where an organizer set an override
    on their registration: in a team, each member's override applies to their uploads,
    counted against the team's shared count."""
    owner = Submission.user_id == user.id
    if team is not None:
        members = select(TeamMember.user_id).where(TeamMember.team_id == team.id)
        owner = or_(Submission.team_id == team.id, Submission.user_id.in_(members))
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    total, today = session.execute(
        select(
            func.count(),
            func.count().filter(Submission.created_at >= day),
        ).where(owner, Submission.phase_id == phase.id, Submission.server_fault.is_(False))
    ).one()
    per_day, in_all = _limits(session, phase, user)
    return Allowance(per_day, today, in_all, total, day + timedelta(days=1))


def _limits(session: Session, phase: Phase, user: User) -> tuple[int, int]:
    """(per day, in all): the user's overrides where set, the phase's otherwise."""
    overrides = (
        session.execute(
            select(Registration.max_per_day, Registration.max_total).where(
                Registration.competition_id == phase.competition_id,
                Registration.user_id == user.id,
            )
        )
        .tuples()
        .first()
    )
    per_day, in_all = overrides if overrides is not None else (None, None)
    return (
        phase.max_per_day if per_day is None else per_day,
        phase.max_total if in_all is None else in_all,
    )


@dataclass(frozen=True)
class Uploads:
    """Whether a user may upload now: the phase taking uploads and what is left, or why not."""

    phase: Phase | None  # None when no phase takes their uploads now
    allowance: Allowance | None
    refusal: str | None  # why not, a sentence to show as it is
    retry_after: int | None = None  # seconds, when a limit is why


def uploads_now(session: Session, competition: Competition, user: User, now: datetime) -> Uploads:
    """What `submit` would say of an upload now, before one is sent: registration, the phase,
    then the limits (the zip itself is checked only when it comes)."""
    try:
        require_participant(session, competition, user)
        phase = open_phase(session, competition, now)
    except Forbidden as exc:
        return Uploads(None, None, exc.message)
    left = allowance(session, phase, user, team_of(session, user), now)
    try:
        _within_limits(left, phase, now)
    except TooMany as exc:
        return Uploads(phase, left, exc.message, int(exc.headers["Retry-After"]))
    return Uploads(phase, left, None)


@dataclass(frozen=True)
class Accepted:
    """A stored upload, and what the reader ignored in its zip (said at upload only)."""

    submission: Submission
    warnings: list[str]


class InvalidZip(Invalid):
    """A refused zip: every problem in `errors`, and what was ignored in `warnings`."""

    def __init__(self, message: str, *, errors: list[str], warnings: list[str]) -> None:
        super().__init__(message, errors=errors)
        self.warnings = warnings


def accept(
    session: Session,
    competition: Competition,
    track: Track,
    user: User,
    data: bytes,
    *,
    filename: str,
    description: str,
    now: datetime,
) -> Accepted:
    """Validate and store an upload (queued), with what the reader ignored in the zip (a
    train/ split, a README); every refusal leaves nothing stored or counted."""
    require_confirmed(user)
    registration = require_participant(session, competition, user)
    phase = open_phase(session, competition, now)
    description = _description(description)
    if len(data) > phase.max_bytes:
        raise TooLarge(
            f"the zip is {_mb(len(data))}; {phase.name} takes at most {_mb(phase.max_bytes)}"
        )
    warnings = _validate(data, competition, track, filename, phase)
    team = _lock_owner(session, registration, user)
    _within_limits(allowance(session, phase, user, team, now), phase, now)
    submission = Submission(
        user_id=user.id,
        team_id=team.id if team else None,
        track_id=track.id,
        phase_id=phase.id,
        size=len(data),
        description=description,
        created_at=now,
        queued_at=now,
    )
    zip_storage.store(submission, data)  # where ZIP_STORAGE says, before the row is written
    session.add(submission)
    session.flush()
    return Accepted(submission, warnings)


def _description(text: str) -> str:
    text = text.strip()
    if "\x00" in text:
        raise Invalid("the description holds a NUL character; remove it")
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(f"the description is {len(text)} characters; at most {MAX_DESCRIPTION}")
    return text


def _mb(size: int) -> str:
    return size_text(size)


def _validate(
    data: bytes, competition: Competition, track: Track, filename: str, phase: Phase
) -> list[str]:
    """What the reader ignored; InvalidInput becomes a 422 listing every problem it found."""
    try:
        predictions = read_submission(
            data,
            definition=definition_of(competition),
            track=track.name,
            name=filename or "submission.zip",
            splits=tuple(phase.scored_splits),
        )
    except InvalidInput as exc:
        count = len(exc.problems)
        raise InvalidZip(
            f"this zip is not a valid {track.name} submission: {count} problem"
            f"{'s' if count != 1 else ''} found; nothing was stored or counted",
            errors=[str(p) for p in exc.problems],
            warnings=[str(w) for w in exc.warnings],
        ) from None
    return [str(w) for w in predictions.warnings]


def _lock_owner(session: Session, registration: Registration, user: User) -> Team | None:
    """Lock the row that owns the count (the team's, or the registration), so that two
    uploads at once cannot both take the last one left. The user's team, if any."""
    team = team_of(session, user)
    row = (Team, team.id) if team is not None else (Registration, registration.id)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE; a write takes its database lock until the commit.
        session.execute(update(row[0]).where(row[0].id == row[1]).values(id=row[1]))
    else:
        session.scalar(select(row[0].id).where(row[0].id == row[1]).with_for_update())
    return team


def _within_limits(left: Allowance, phase: Phase, now: datetime) -> None:
    if left.used_total >= left.total:
        ends = phase.ends_at or left.resets_at
        raise TooMany(
            f"you have made all {left.total} submissions {phase.name} allows",
            headers={"Retry-After": str(max(1, int((ends - now).total_seconds())))},
        )
    if left.used_today >= left.per_day:
        wait = max(1, int((left.resets_at - now).total_seconds()))
        raise TooMany(
            f"you have made {left.used_today} of {left.per_day} submissions today; the count "
            f"resets at {left.resets_at:%Y-%m-%d %H:%M} UTC (midnight UTC), in {duration(wait)}",
            headers={"Retry-After": str(wait)},
        )


def duration(seconds: int) -> str:
    """`5 h 07 min`: how long until a limit resets."""
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min"


def visible_submission(session: Session, submission_id: int, user: User) -> Submission:
    """A submission its owner, the owner's team or an organizer asks for; NotFound to anyone
    else, exactly as for one that does not exist."""
    submission = row_by_id(session, Submission, submission_id)
    if submission is None or not _may_see(session, submission, user):
        raise NotFound(f"there is no submission {submission_id}")
    return submission


def _may_see(session: Session, submission: Submission, user: User) -> bool:
    if submission.user_id == user.id:
        return True
    team = team_of(session, user)
    if team is not None and submission.team_id == team.id:
        return True
    return organizes_submission(session, submission, user)


def organizes_submission(session: Session, submission: Submission, user: User) -> bool:
    """True when `user` organizes the competition the submission was made to."""
    track = session.get_one(Track, submission.track_id)
    return organizes(session, session.get_one(Competition, track.competition_id), user)


def status_of(factory: Callable[[], Session], submission_id: int) -> SubmissionStatus | None:
    """A submission's status, read in a short session of its own (for long polling)."""
    with committing(factory()) as session:
        return session.scalar(select(Submission.status).where(Submission.id == submission_id))


def own_submissions(
    session: Session, track: Track, user: User, *, limit: int, offset: int
) -> tuple[list[Submission], int]:
    """The user's own and their team's submissions to a track, newest first, and how many."""
    team = team_of(session, user)
    owner = Submission.user_id == user.id
    if team is not None:
        owner = or_(owner, Submission.team_id == team.id)
    where = (owner, Submission.track_id == track.id)
    total = session.scalar(select(func.count()).select_from(Submission).where(*where)) or 0
    rows = session.scalars(
        select(Submission).where(*where).order_by(Submission.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


Shown = dict[str, list[tuple[str, Score]]]  # split -> (scenario name, score), by name


def shown_scores(session: Session, submission: Submission, viewer: User) -> Shown:
    """Per split the phase shows or the organizers have revealed, the (scenario name, score)
    rows, scenarios in name order."""
    return shown_scores_of(session, [submission], viewer)[submission.id]


def shown_scores_of(
    session: Session, submissions: list[Submission], viewer: User
) -> dict[int, Shown]:
    """`shown_scores` of many submissions (a list page's rows), in one query for the scores."""
    splits: dict[int, list[str]] = {}
    for submission in submissions:
        phase = session.get_one(Phase, submission.phase_id)
        track = session.get_one(Track, submission.track_id)
        competition = session.get_one(Competition, track.competition_id)
        splits[submission.id] = [
            split
            for split in phase.scored_splits
            if split in phase.shown_splits or not visibility.hidden(session, competition, split)
        ]
        if phase.ladder_eta and not organizes_submission(session, submission, viewer):
            splits[submission.id] = []  # exact scores would defeat the Ladder
    shown: dict[int, Shown] = {submission.id: {} for submission in submissions}
    wanted = [i for i, named in splits.items() if named]
    if not wanted:
        return shown
    rows = session.execute(
        select(Scenario.name, Score)
        .join(Scenario, Scenario.id == Score.scenario_id)
        .where(Score.submission_id.in_(wanted))
        .order_by(Score.split, Scenario.name)
    ).tuples()
    for name, score in rows:
        if score.split in splits[score.submission_id]:
            shown[score.submission_id].setdefault(score.split, []).append((name, score))
    return shown


def pin(session: Session, submission: Submission, user: User, *, pinned: bool) -> Submission:
    """Choose (or stop choosing) the submission that represents its owner on the leaderboard,
    where its phase allows it; one pinned submission per owner and track."""
    phase = session.get_one(Phase, submission.phase_id)
    if _banned(session, phase.competition_id, user):
        raise Forbidden("you are banned from this competition; nothing you choose is ranked")
    if not phase.allow_pinning:
        raise Forbidden(f"{phase.name} ranks by its own rule; submissions cannot be pinned")
    if pinned and submission.status is not SubmissionStatus.SCORED:
        raise Invalid("only a scored submission can represent you")
    team = team_of(session, user)
    if submission.user_id != user.id and (team is None or submission.team_id != team.id):
        raise Forbidden("only the owner or their team chooses the submission that represents them")
    owner = (
        Submission.team_id == submission.team_id
        if submission.team_id is not None
        else (Submission.user_id == submission.user_id) & Submission.team_id.is_(None)
    )
    session.execute(
        update(Submission)
        .where(owner, Submission.track_id == submission.track_id)
        .values(pinned=False)
    )
    submission.pinned = pinned
    session.flush()
    # The UPDATE went around the flush's change tracking (unpinning may change nothing it sees).
    key = representative.key_of(submission.user_id, submission.team_id)
    representative.refresh(session, submission.track_id, [key])
    return submission


def _banned(session: Session, competition_id: int, user: User) -> bool:
    return (
        session.scalar(
            select(Registration.id).where(
                Registration.competition_id == competition_id,
                Registration.user_id == user.id,
                Registration.status == RegistrationStatus.BANNED,
            )
        )
        is not None
    )
