"""What the organizers' submissions API reads and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.admin.submissions.service import SubmissionRow
from app.models.submission import SubmissionStatus


class AdminSubmissionOut(BaseModel):
    """A submission as organizers see it: exact ranking scores of every split."""

    id: int
    participant: str
    track: str
    status: SubmissionStatus
    created_at: datetime
    rankings: dict[str, float]
    disqualified: str | None
    sha256: str


class Disqualification(BaseModel):
    """A reason the participant will see; null restores the submission."""

    reason: str | None = Field(None, max_length=500)


def row_out(row: SubmissionRow) -> AdminSubmissionOut:
    """The API's form of a row of the list."""
    s = row.submission
    return AdminSubmissionOut(
        id=s.id,
        participant=row.participant,
        track=row.track,
        status=s.status,
        created_at=s.created_at,
        rankings=row.rankings,
        disqualified=s.disqualified,
        sha256=s.sha256,
    )
