"""Scores of a submission on one split: per-scenario metrics, compact ROC and ranking score.

The ranking score aggregates the ranking metric over the scenarios present, as the track says:
`mean` (MICO), `max` (MIDST), `min`; `mean_rank` needs every submission's scores, so a single
submission's ranking score is then its mean and a leaderboard ranks by `mean_ranks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.scoring.definition import Aggregate, Definition, Track
from app.scoring.metrics import compact_roc, scenario_metrics
from app.scoring.readers import GroundTruth, Predictions


class ScoringError(Exception):
    """The submission cannot be scored on that split (say, no ground truth for it)."""


@dataclass(frozen=True)
class ScenarioScore:
    """Every official metric of one scenario, and a compact ROC curve for plots."""

    metrics: dict[str, float]
    roc: dict[str, list[float]] = field(repr=False)


@dataclass(frozen=True)
class SplitScore:
    """A submission's scores on one split of its track."""

    track: str
    split: str
    ranking_score: float
    scenarios: dict[str, ScenarioScore]

    def to_dict(self, *, with_roc: bool = False) -> dict[str, Any]:
        """Plain data for JSON output and storage."""
        return {
            "track": self.track,
            "split": self.split,
            "ranking_score": self.ranking_score,
            "scenarios": {
                name: {**s.metrics, **({"roc": s.roc} if with_roc else {})}
                for name, s in self.scenarios.items()
            },
        }


def score_split(
    predictions: Predictions, truth: GroundTruth, definition: Definition, split: str
) -> SplitScore:
    """Score every scenario of the submission's track on `split` (optional ones it left out
    are skipped)."""
    try:
        split = definition.split(split).name
    except KeyError as exc:
        raise ScoringError(str(exc.args[0])) from None
    track = definition.track(predictions.track)
    word = definition.scenario_word
    scenarios = {}
    for scenario in track.scenarios:
        if (scenario, split) not in predictions.values:
            if scenario in track.optional:
                continue
            raise ScoringError(f"the submission has no {split} predictions for {scenario}")
        if not truth.has(scenario, split):
            raise ScoringError(f"the ground truth has no {split} labels for {scenario}")
        metrics, roc = scenario_metrics(
            truth.labels[scenario, split],
            predictions.values[scenario, split],
            definition.fpr_thresholds,
            definition.fpr_inclusive,
        )
        scenarios[scenario] = ScenarioScore(metrics, compact_roc(roc))
    if not scenarios:
        raise ScoringError(f"the submission has {split} predictions for no {word}")
    values = [s.metrics[definition.ranking_key] for s in scenarios.values()]
    return SplitScore(track.name, split, aggregate(values, track.ranking), scenarios)


def aggregate(values: Sequence[float], how: Aggregate) -> float:
    """A track's score from its scenarios' values: mean, max or min (mean_rank: the mean)."""
    if how == "max":
        return float(np.max(values))
    if how == "min":
        return float(np.min(values))
    return float(np.mean(values))


OTHER_METRICS = ("AUC", "MIA", "accuracy")  # every scenario's metrics beside its TPRs
WORDS: dict[Aggregate, str] = {
    "mean": "mean",
    "max": "highest",
    "min": "lowest",
    "mean_rank": "mean rank by",
}


def metric_keys(definition: Definition) -> tuple[str, ...]:
    """The metrics leaderboards show: the definition's `shown_metrics`, or every metric a
    scenario has (its TPRs, lowest threshold first, then AUC, MIA and accuracy)."""
    return definition.shown_metrics or (*definition.tpr_keys, *OTHER_METRICS)


def metric_headings(definition: Definition) -> list[tuple[str, str]]:
    """(metric key, column heading) of every metric, in the order tables show them: TPRs by
    FPR (`TPR@10%`), then AUC, MIA and accuracy."""
    tprs = [
        (key, f"TPR@{threshold * 100:g}%")
        for key, threshold in zip(definition.tpr_keys, definition.fpr_thresholds, strict=True)
    ]
    return [*tprs, ("AUC", "AUC"), ("MIA", "MIA"), ("accuracy", "Accuracy")]


def ranking_words(track: Track, definition: Definition) -> str:
    """The track's ranking score in words: `mean TPR at 10% FPR` (MICO), `highest TPR at 10%
    FPR` (MIDST's max), `lowest ...`, or `mean rank by TPR at 10% FPR`."""
    return f"{WORDS[track.ranking]} TPR at {definition.ranking_threshold * 100:g}% FPR"


def mean_ranks(rows: Sequence[Mapping[str, float]]) -> list[float]:
    """Each row's mean rank over the scenarios (1 = best, ties share the lower rank); a
    scenario a row lacks ranks it last. For tracks ranked by `mean_rank`."""
    scenarios = sorted({s for row in rows for s in row})
    if not scenarios:
        return [0.0] * len(rows)
    ranks = np.zeros(len(rows))
    for scenario in scenarios:
        values = np.array([row.get(scenario, -np.inf) for row in rows])
        # 1 + how many are strictly greater, from the sorted values: n log n, not n^2.
        ranks += 1 + values.size - np.searchsorted(np.sort(values), values, side="right")
    return [float(r) for r in ranks / len(scenarios)]


def codabench_scores(score: SplitScore, definition: Definition) -> dict[str, float]:
    """The official program's `scores.json` (MIDST: `{"tpr_at_fpr": ...}`): each key is the
    ranking score or a metric aggregated over the scenarios as the ranking is."""
    how = definition.track(score.track).ranking
    out = {}
    for key, value in (definition.codabench or {"tpr_at_fpr": "ranking_score"}).items():
        if value == "ranking_score":
            out[key] = score.ranking_score
        else:
            out[key] = aggregate([s.metrics[value] for s in score.scenarios.values()], how)
    return out


def codalab_lines(score: SplitScore, definition: Definition) -> list[str]:
    """The lines of the official program's `scores.txt`, in a fixed order.

    The official program writes AUC, MIA and accuracy in the iteration order of a Python set,
    which changes from run to run; we always write them in that order, then the TPR keys.
    """
    lines = []
    for i, s in enumerate(score.scenarios.values(), start=1):
        keys = ("AUC", "MIA", "accuracy", *definition.tpr_keys)
        lines += [f"scenario{i}_{key}: {s.metrics[key]!r}" for key in keys]
    lines.append(f"average_{definition.ranking_key}: {score.ranking_score!r}")
    return lines
