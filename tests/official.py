"""The official MICO scoring program's way, restated for tests and the benchmark.

It calls scikit-learn exactly as the official `score.py` does (`roc_curve` with its defaults,
`roc_auc_score`) and reads folders the way it does (`np.loadtxt` of each file, models in
directory order). It is the reference our scorer must match to 1e-9; it is never imported by
the application.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score, roc_curve

THRESHOLDS = (0.001, 0.01, 0.05, 0.1, 0.15, 0.2)


def official_metrics(
    solutions: NDArray[np.float64], predictions: NDArray[np.float64]
) -> dict[str, float]:
    """The official `score()`: TPR at FPR < t from roc_curve, AUC, MIA and balanced accuracy."""
    scores: dict[str, float] = {}
    for t in THRESHOLDS:
        fpr, tpr, _ = roc_curve(solutions, predictions)
        scores[f"TPR_FPR_{int(1e4 * t)}"] = float(max(tpr[fpr < t]))
    fpr, tpr, _ = roc_curve(solutions, predictions)
    scores["AUC"] = float(roc_auc_score(solutions, predictions))
    scores["MIA"] = float(np.max(tpr - fpr))
    scores["accuracy"] = float(np.max(1 - (fpr + (1 - tpr)) / 2))
    return scores


def official_scores_txt(ref: Path, res: Path, split: str) -> dict[str, float]:
    """The key-value pairs the official program writes to `scores.txt` for one track folder.

    `ref` and `res` are the track folders (`.../cifar10`) of solutions and predictions.
    """
    out: dict[str, float] = {}
    scenarios = sorted(os.listdir(ref))
    ranking = []
    for i, scenario in enumerate(scenarios, start=1):
        solutions, predictions = [], []
        for model in os.listdir(ref / scenario / split):
            solutions.append(
                np.loadtxt(ref / scenario / split / model / "solution.csv", delimiter=",")
            )
            predictions.append(
                np.loadtxt(res / scenario / split / model / "prediction.csv", delimiter=",")
            )
        scores = official_metrics(np.concatenate(solutions), np.concatenate(predictions))
        out.update({f"scenario{i}_{k}": v for k, v in scores.items()})
        ranking.append(scores["TPR_FPR_1000"])
    out["average_TPR_FPR_1000"] = float(np.mean(ranking))
    return out
