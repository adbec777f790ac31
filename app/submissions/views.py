"""What a submission looks like to whoever asks: one, a list of them in as many statements
for 200 rows as for one, and one read afresh after a long poll."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.competitions.service import definition_of
from app.core.db import SessionFactory, committing
from app.core.errors import NotFound
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.submission import Submission
from app.models.track import Track
from app.models.user import User
from app.scoring.definition import Definition
from app.submissions import service
from app.submissions.schemas import SubmissionOut, submission_out
from app.submissions.service import Shown


def view(
    session: Session,
    submission: Submission,
    viewer: User,
    shown: Shown | None = None,
    definition: Definition | None = None,
) -> SubmissionOut:
    """The submission as `viewer` may see it (`shown` and `definition` when already read)."""
    track = session.get_one(Track, submission.track_id)
    competition = session.get_one(Competition, track.competition_id)
    return submission_out(
        submission,
        competition=competition.slug,
        track=track.name,
        shown=service.shown_scores(session, submission, viewer) if shown is None else shown,
        definition=definition_of(competition) if definition is None else definition,
    )


def views(
    session: Session, competition: Competition, rows: list[Submission], viewer: User
) -> list[SubmissionOut]:
    """A list of the competition's submissions, in as many statements for 200 rows as for 1:
    their scores read together, the definition once."""
    shown = service.shown_scores_of(session, rows, viewer)
    definition = definition_of(competition)
    return [view(session, s, viewer, shown[s.id], definition) for s in rows]


def fresh_view(factory: SessionFactory, submission_id: int, viewer: User) -> SubmissionOut:
    """The submission as it is now, read in a session of its own (the request's has given its
    connection back while it waited)."""
    with committing(factory()) as session:
        # One query puts the track, competition and phase where view finds them.
        submission = session.execute(
            select(Submission, Track, Competition, Phase)
            .join(Track, Track.id == Submission.track_id)
            .join(Competition, Competition.id == Track.competition_id)
            .join(Phase, Phase.id == Submission.phase_id)
            .where(Submission.id == submission_id)
        ).first()
        if submission is None:  # deleted while the request waited
            raise NotFound(f"there is no submission {submission_id}")
        return view(session, submission[0], viewer)
