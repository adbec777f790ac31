"""Submissions: the zip's bytes live here, so any worker on any machine can score them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.models.base import Base, Timestamped, str_enum, utcnow


class SubmissionStatus(StrEnum):
    """Where a submission is in the pipeline."""

    QUEUED = "queued"
    SCORING = "scoring"
    SCORED = "scored"
    FAILED = "failed"


class Verification(StrEnum):
    """How far organizers have checked an entry's method: what its owner says (the default),
    re-run by the organizers, or verified."""

    SELF_REPORTED = "self_reported"
    RERUN = "rerun"
    VERIFIED = "verified"


class Submission(Timestamped, Base):
    """One uploaded zip of predictions for a track, in a phase."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    # Loaded only when asked for: lists and status checks never pull 1 MB a row. None when the
    # zip is a file (zip_storage `directory`): read it through app.core.zip_storage.
    zip_bytes: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # Where the zip is: `database` (this row) or `directory` (ZIP_DIRECTORY); None: database.
    zip_storage: Mapped[str | None] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus, "submission_status"),
        default=SubmissionStatus.QUEUED,
        index=True,
    )
    error: Mapped[str | None] = mapped_column(Text)
    # A failure of the server, not of the zip: it does not count against the limits.
    server_fault: Mapped[bool] = mapped_column(default=False)
    # Scoring runs so far; the sweeper gives up (server_fault) after a few.
    attempts: Mapped[int] = mapped_column(default=0)
    # When the task was last sent: the sweeper resends what waited too long since.
    queued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    scoring_started_at: Mapped[datetime | None]
    scored_at: Mapped[datetime | None]
    scoring_ms: Mapped[float | None]
    scorer_version: Mapped[str | None] = mapped_column(String(32))
    # Chosen by its owner to represent them, where the phase allows it.
    pinned: Mapped[bool] = mapped_column(default=False)
    # Set by an organizer: never ranked; the participant sees why.
    disqualified: Mapped[str | None] = mapped_column(Text)
    # What its owner says of it, shown with it in results (and in a benchmark's rows): the
    # method's name and links to its write-up and code (http or https only; None: not given).
    method_name: Mapped[str | None] = mapped_column(String(120))
    writeup_url: Mapped[str | None] = mapped_column(String(2000))
    code_url: Mapped[str | None] = mapped_column(String(2000))
    # Set by organizers only, shown as a badge on the benchmark's rows.
    verification: Mapped[Verification] = mapped_column(
        str_enum(Verification, "verification"),
        default=Verification.SELF_REPORTED,
        server_default=Verification.SELF_REPORTED.value,
    )
