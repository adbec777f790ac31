"""What the downloads read: they take no body, only these query parameters, and answer files
(zips, JSON or CSV) whose columns are named here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Split = Annotated[str, Query(max_length=32, description="the split whose standings choose")]
Format = Annotated[str, Query(pattern="^(json|csv)$")]
EXPORT_COLUMNS = [
    "split",
    "rank",
    "participant",
    "submission_id",
    "ranking_score",
    "ci_low",
    "ci_high",
    "rank_low",
    "rank_high",
    "group",
    "submitted_at",
    "submissions",
    "sha256",
    "scorer_version",
    "ground_truth_sha256",
    "scored_at",
    "method_name",
    "writeup_url",
    "code_url",
    "award",
]
