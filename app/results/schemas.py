"""What the results API answers: per track the awards (each with its entry's method and
links) and the final leaderboard's rows with theirs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.results.service import TrackResults
from app.submissions.methods import Method


class MethodOut(BaseModel):
    """An entry's method name and links, as its owner gave them (null: not given)."""

    method_name: str | None
    writeup_url: str | None
    code_url: str | None


class ResultEntryOut(MethodOut):
    """A row of the final leaderboard, with its method and links."""

    rank: int
    participant: str
    submission_id: int
    ranking_score: float


class AwardOut(BaseModel):
    """An announced award: the entry it went to, or null entry: not awarded."""

    title: str
    entry: ResultEntryOut | None = Field(description="null: announced as not awarded")


class TrackResultsOut(BaseModel):
    """A track's awards and final leaderboard."""

    track: str
    title: str
    split: str
    awards: list[AwardOut]
    entries: list[ResultEntryOut]


class ResultsOut(BaseModel):
    """A competition's announced results."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "competition": "mico",
                    "tracks": [
                        {
                            "track": "cifar10",
                            "title": "CIFAR-10",
                            "split": "final",
                            "awards": [
                                {
                                    "title": "Winner",
                                    "entry": {
                                        "rank": 1,
                                        "participant": "ada",
                                        "submission_id": 17,
                                        "ranking_score": 0.3144,
                                        "method_name": "LiRA, 16 shadow models",
                                        "writeup_url": "https://arxiv.org/abs/2112.03570",
                                        "code_url": None,
                                    },
                                },
                                {"title": "Runner-up", "entry": None},
                            ],
                            "entries": [],
                        }
                    ],
                }
            ]
        }
    )

    competition: str
    tracks: list[TrackResultsOut]


def _entry(
    rank: int, participant: str, submission_id: int, score: float, method: Method | None
) -> ResultEntryOut:
    method = method or Method()
    return ResultEntryOut(
        rank=rank,
        participant=participant,
        submission_id=submission_id,
        ranking_score=score,
        method_name=method.method_name,
        writeup_url=method.writeup_url,
        code_url=method.code_url,
    )


def track_results_out(results: TrackResults) -> TrackResultsOut:
    """The API's view of a track's results."""
    rows = [
        _entry(
            e.rank,
            e.participant,
            e.submission_id,
            e.ranking_score,
            results.methods.get(e.submission_id),
        )
        for e in results.entries
    ]
    by_id = {row.submission_id: row for row in rows}
    return TrackResultsOut(
        track=results.track.name,
        title=results.track.title,
        split=results.split,
        awards=[
            AwardOut(title=a.title, entry=by_id.get(a.submission_id) if a.submission_id else None)
            for a in results.awards
        ],
        entries=rows,
    )
