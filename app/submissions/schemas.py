"""What the API says of a submission: its status, timings and the scores its phase shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from app.models.score import Score
from app.models.submission import Submission
from app.scoring.definition import Definition
from app.scoring.definition import Track as DefinedTrack
from app.scoring.scorer import aggregate, metric_headings, ranking_words
from app.submissions.methods import MAX_METHOD, MAX_URL

if TYPE_CHECKING:
    from app.submissions.service import Uploads


class ShownStatus(StrEnum):
    """What its owner is told of a submission: where scoring is, or that it is disqualified."""

    QUEUED = "queued"
    SCORING = "scoring"
    SCORED = "scored"
    FAILED = "failed"
    DISQUALIFIED = "disqualified"


STATUS = (
    "`queued`, `scoring`, then `scored` or `failed` as it is scored; `disqualified` once the "
    "organizers disqualify it, whatever its scoring did: it is never ranked, `disqualified` "
    "says why, and `scores` still shows what it scored. A client waiting for the outcome stops "
    "at `scored`, `failed` or `disqualified`."
)


class SplitScores(BaseModel):
    """A split's ranking score (as the track aggregates its scenarios: MICO's mean TPR at 10%
    FPR) and every metric of every scenario it was scored on."""

    ranking_score: float
    ranking: str = Field(
        "",
        description="how the ranking score is made, in words",
        examples=["mean TPR at 10% FPR", "highest TPR at 10% FPR"],
    )
    scenarios: dict[str, dict[str, float]] = Field(
        examples=[{"cifar10_hi": {"TPR_FPR_1000": 0.31, "AUC": 0.66, "MIA": 0.25}}]
    )


class SubmissionOut(BaseModel):
    """One submission as its owner, their team and the organizers see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "competition": "mico",
                    "track": "cifar10",
                    "status": "scored",
                    "error": None,
                    "description": "LiRA with 16 shadow models",
                    "created_at": "2026-12-01T21:00:00Z",
                    "scored_at": "2026-12-01T21:00:01Z",
                    "scores": {
                        "dev": {
                            "ranking_score": 0.3144,
                            "scenarios": {
                                "cifar10_hi": {"TPR_FPR_1000": 0.31, "AUC": 0.66, "MIA": 0.25}
                            },
                        }
                    },
                    "queue_ms": 12.5,
                    "scoring_ms": 180.0,
                    "url": "/submissions/17",
                    "pinned": False,
                    "disqualified": None,
                }
            ]
        }
    )

    id: int
    competition: str
    track: str
    status: ShownStatus = Field(description=STATUS)
    error: str | None = Field(description="why it failed, when it did")
    description: str
    created_at: datetime
    scored_at: datetime | None
    scores: dict[str, SplitScores] = Field(description="only the splits the phase shows")
    queue_ms: float | None = Field(description="from upload to the start of scoring")
    scoring_ms: float | None = Field(description="reading and scoring every split")
    url: str = Field(description="the submission's page")
    pinned: bool = Field(False, description="chosen by its owner to represent them")
    disqualified: str | None = Field(None, description="why organizers keep it off leaderboards")
    method_name: str | None = Field(None, description="the method's name, as its owner gives it")
    writeup_url: str | None = Field(None, description="a link to the method's write-up (http(s))")
    code_url: str | None = Field(None, description="a link to the method's code (http(s))")


class SubmissionPatch(BaseModel):
    """What its owner says of a submission, shown with it in the results: a field left out
    stays as it is; an empty text or null clears it. Links are http:// or https:// only."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "method_name": "LiRA, 16 shadow models",
                    "writeup_url": "https://arxiv.org/abs/2112.03570",
                    "code_url": "https://github.com/example/lira",
                }
            ]
        },
    )

    method_name: str | None = Field(None, max_length=MAX_METHOD)
    writeup_url: str | None = Field(None, max_length=MAX_URL, json_schema_extra={"format": "uri"})
    code_url: str | None = Field(None, max_length=MAX_URL, json_schema_extra={"format": "uri"})


class UploadsOut(BaseModel):
    """Whether the caller may upload to the track now, and why not: what an upload would be
    told, asked before sending one (the zip itself is checked only when it is sent)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "open": False,
                    "reason": "Final phase: uploads are closed; your latest Development "
                    "submission is ranked",
                    "phase": None,
                    "max_bytes": None,
                    "remaining_today": None,
                    "remaining_total": None,
                    "resets_at": None,
                    "retry_after": None,
                }
            ]
        }
    )

    open: bool = Field(description="an upload sent now would be taken")
    reason: str | None = Field(
        description="why not, to show as it is: not registered, no phase taking uploads (and "
        "which submission is ranked meanwhile), or a limit reached"
    )
    phase: str | None = Field(description="the phase taking uploads now")
    max_bytes: int | None = Field(description="the largest zip the phase takes")
    remaining_today: int | None = Field(description="uploads left today, UTC")
    remaining_total: int | None = Field(description="uploads left in the phase")
    resets_at: datetime | None = Field(description="when the daily count starts again")
    retry_after: int | None = Field(
        description="seconds until uploads are taken again, when a limit is why not"
    )


class UploadOut(SubmissionOut):
    """A submission just uploaded, with what the reader ignored in its zip."""

    warnings: list[str] = Field(
        default_factory=list,
        description="what was ignored, said at upload only: a train/ split, a README, a model "
        "outside its split",
        examples=[["train/ is not scored: ignored (300 files)"]],
    )


class SubmissionList(BaseModel):
    """A page of the caller's (or their team's) submissions, newest first."""

    submissions: list[SubmissionOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


def split_scores(rows: list[tuple[str, Score]], definition: Definition, track: str) -> SplitScores:
    """A split's rows as the API shows them, the ranking score aggregated as the track says
    over the scenarios scored (an optional one left out is not among them). A track ranked
    by mean rank shows a submission's mean metric: its rank depends on the others."""
    spec = next((t for t in definition.tracks if t.name == track), DefinedTrack(track, ()))
    scenarios = {name: score.metrics for name, score in rows}
    values = [metrics[definition.ranking_key] for metrics in scenarios.values()]
    how = "mean" if spec.ranking == "mean_rank" else spec.ranking
    words = ranking_words(replace(spec, ranking=how), definition)
    if spec.ranking == "mean_rank":
        words += f" over the {definition.scenario_word}s (the leaderboard ranks by mean rank)"
    return SplitScores(ranking_score=aggregate(values, how), ranking=words, scenarios=scenarios)


def shown_status(submission: Submission) -> ShownStatus:
    """`disqualified` over the stored status, which stays as scoring left it."""
    if submission.disqualified is not None:
        return ShownStatus.DISQUALIFIED
    return ShownStatus(submission.status.value)


def submission_out(
    submission: Submission,
    *,
    competition: str,
    track: str,
    shown: dict[str, list[tuple[str, Score]]],
    definition: Definition,
) -> SubmissionOut:
    """The API's view of a submission."""
    started = submission.scoring_started_at
    queue_ms = (started - submission.created_at).total_seconds() * 1000 if started else None
    return SubmissionOut(
        id=submission.id,
        competition=competition,
        track=track,
        status=shown_status(submission),
        error=submission.error,
        description=submission.description,
        created_at=submission.created_at,
        scored_at=submission.scored_at,
        scores={split: split_scores(rows, definition, track) for split, rows in shown.items()},
        queue_ms=None if queue_ms is None else round(max(queue_ms, 0.0), 1),
        scoring_ms=submission.scoring_ms,
        url=f"/submissions/{submission.id}",
        pinned=submission.pinned,
        disqualified=submission.disqualified,
        method_name=submission.method_name,
        writeup_url=submission.writeup_url,
        code_url=submission.code_url,
    )


def metric_columns(definition: Definition) -> list[tuple[str, str]]:
    """(metric key, column heading) in the order tables show them: TPRs by FPR, then the rest."""
    return metric_headings(definition)


def uploads_out(uploads: Uploads) -> UploadsOut:
    """The API's view of whether uploads are taken now."""
    phase, left = uploads.phase, uploads.allowance
    return UploadsOut(
        open=uploads.refusal is None,
        reason=uploads.refusal,
        phase=phase.name if phase else None,
        max_bytes=phase.max_bytes if phase else None,
        remaining_today=left.remaining_today if left else None,
        remaining_total=max(0, left.total - left.used_total) if left else None,
        resets_at=left.resets_at if left else None,
        retry_after=uploads.retry_after,
    )
