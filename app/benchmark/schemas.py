"""What the benchmark API answers and reads: a track's rows with their marks, the organizers'
labels date and verification levels."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.benchmark.service import Board, Row
from app.models.submission import Verification


class BenchmarkRowOut(BaseModel):
    """A row: an entry of the competition's final ranking, or one made after it."""

    rank: int
    participant: str
    submission_id: int
    ranking_score: float
    submitted_at: datetime
    after_competition: bool = Field(description="submitted in the benchmark phase")
    after_labels_published: bool = Field(
        description="submitted once the organizers had published the labels"
    )
    verification: Verification = Field(description="set by the organizers only")
    method_name: str | None
    writeup_url: str | None
    code_url: str | None


class BenchmarkOut(BaseModel):
    """A track's benchmark board."""

    competition: str
    track: str
    split: str
    opened_at: datetime | None
    labels_published_at: datetime | None
    rows: list[BenchmarkRowOut]


class OpenIn(BaseModel):
    """Turn the competition into a benchmark: the uploads a participant may make a day."""

    model_config = ConfigDict(extra="forbid")

    max_per_day: int = Field(default=5, ge=1, le=100)


class LabelsIn(BaseModel):
    """When the organizers published the hidden labels (null: not published)."""

    model_config = ConfigDict(extra="forbid")

    published_at: datetime | None


class VerificationIn(BaseModel):
    """An entry's verification level."""

    model_config = ConfigDict(extra="forbid")

    level: Verification


def row_out(row: Row) -> BenchmarkRowOut:
    """The API's view of a row."""
    entry, method = row.entry, row.method
    return BenchmarkRowOut(
        rank=row.rank,
        participant=entry.participant,
        submission_id=entry.submission_id,
        ranking_score=entry.ranking_score,
        submitted_at=entry.submitted_at,
        after_competition=row.after,
        after_labels_published=row.after_labels,
        verification=row.verification,
        method_name=method.method_name,
        writeup_url=method.writeup_url,
        code_url=method.code_url,
    )


def board_out(slug: str, board: Board, labels_published_at: datetime | None) -> BenchmarkOut:
    """The API's view of a board."""
    return BenchmarkOut(
        competition=slug,
        track=board.track.name,
        split=board.split,
        opened_at=board.phase.starts_at,
        labels_published_at=labels_published_at,
        rows=[row_out(r) for r in board.rows],
    )
