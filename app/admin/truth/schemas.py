"""What the ground-truth API answers: shapes, digests and rescoring progress, never a label."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.admin.truth.service import Progress, SplitTruth

_DIGEST = "9f2c5e0d41b7a8c3e6f1d2b4a5c7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
_SPLIT: dict[str, Any] = {
    "scenario": "cifar10_hi",
    "split": "dev",
    "models": 50,
    "points_per_model": 200,
    "members": 0.5,
    "updated_at": "2026-12-01T21:04:05Z",
    "sha256": _DIGEST,
}
_PROGRESS: dict[str, Any] = {
    "replaced_at": "2026-12-01T21:04:05Z",
    "replaced_by": "org",
    "submissions": 120,
    "rescored": 87,
    "failed": 1,
    "waiting": 32,
    "done": False,
    "stalled": False,
    "digests_before": {"dev": _DIGEST, "final": _DIGEST},
    "digests_after": {"dev": _DIGEST, "final": _DIGEST},
}


class SplitTruthOut(BaseModel):
    """One scenario's split as stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SPLIT]})

    scenario: str
    split: str
    models: int
    points_per_model: int
    members: float = Field(description="share of the labels that are 1 (members); MICO: 0.5")
    updated_at: datetime
    sha256: str = Field(description="SHA-256 of this scenario's stored labels (bit-packed)")


class ProgressOut(BaseModel):
    """The rescoring after the latest replacement: counted from the submissions' statuses, so
    it simply stops moving while no worker scores."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PROGRESS]})

    replaced_at: datetime
    replaced_by: str | None
    submissions: int = Field(description="the track's submissions queued by the replacement")
    rescored: int
    failed: int
    waiting: int = Field(description="still queued or being scored")
    done: bool
    stalled: bool = Field(description="work remains but nothing finished for two minutes")
    digests_before: dict[str, str | None]
    digests_after: dict[str, str | None]


class TruthOut(BaseModel):
    """A track's ground truth as organizers see it, and the rescoring's progress."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "competition": "mico",
                    "track": "cifar10",
                    "required_splits": ["dev", "final"],
                    "layout": "cifar10/{scenario}/{split}/model_{id}/solution.csv",
                    "max_upload_bytes": 209715200,
                    "digests": {"dev": _DIGEST, "final": _DIGEST},
                    "splits": [_SPLIT],
                    "progress": _PROGRESS,
                    "changed": True,
                }
            ]
        }
    )

    competition: str
    track: str
    required_splits: list[str] = Field(description="splits an upload must hold")
    layout: str = Field(description="where each label file sits in the zip")
    max_upload_bytes: int
    digests: dict[str, str | None] = Field(
        description="per split, the SHA-256 the results export names (null: nothing stored)"
    )
    splits: list[SplitTruthOut]
    progress: ProgressOut | None = Field(description="null until the truth is first replaced")
    changed: bool | None = Field(
        None, description="after an upload: false when the zip held exactly the stored labels"
    )


def split_out(row: SplitTruth) -> SplitTruthOut:
    """The API's form of a stored split."""
    return SplitTruthOut(
        scenario=row.scenario,
        split=row.split,
        models=row.models,
        points_per_model=row.points_per_model,
        members=round(row.members, 4),
        updated_at=row.updated_at,
        sha256=row.digest,
    )


def progress_out(progress: Progress | None) -> ProgressOut | None:
    """The API's form of the rescoring's progress."""
    if progress is None:
        return None
    version = progress.version
    return ProgressOut(
        replaced_at=version.created_at,
        replaced_by=progress.actor,
        submissions=progress.total,
        rescored=progress.rescored,
        failed=progress.failed,
        waiting=progress.waiting,
        done=progress.done,
        stalled=progress.quiet,
        digests_before=version.digests_before,
        digests_after=version.digests_after,
    )
