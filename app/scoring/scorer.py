"""Scores of a submission on one split: per-scenario metrics, compact ROC and ranking score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.scoring.definition import Definition
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
    """Score every scenario of the submission's track on `split`."""
    try:
        split = definition.split(split).name
    except KeyError as exc:
        raise ScoringError(str(exc.args[0])) from None
    track = definition.track(predictions.track)
    scenarios = {}
    for scenario in track.scenarios:
        if (scenario, split) not in predictions.values:
            raise ScoringError(f"the submission has no {split} predictions for {scenario}")
        if not truth.has(scenario, split):
            raise ScoringError(f"the ground truth has no {split} labels for {scenario}")
        metrics, roc = scenario_metrics(
            truth.labels[scenario, split],
            predictions.values[scenario, split],
            definition.fpr_thresholds,
        )
        scenarios[scenario] = ScenarioScore(metrics, compact_roc(roc))
    ranking = float(np.mean([s.metrics[definition.ranking_key] for s in scenarios.values()]))
    return SplitScore(track.name, split, ranking, scenarios)


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
