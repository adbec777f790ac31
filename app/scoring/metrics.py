"""The MICO metrics for one scenario and split, computed as the official scoring program does.

The official program calls scikit-learn's `roc_curve` (with its default
`drop_intermediate=True`) and `roc_auc_score`. We build the very same ROC points with one sort
and a few vectorised passes, so that every metric agrees with it to the last bits:

- dropping intermediate (collinear) points changes nothing for AUC, MIA or accuracy, but it
  does change `TPR_FPR_*` when a run of equal steps crosses the threshold, so we drop them too;
- TPR at FPR `t` is the largest TPR among ROC points whose FPR is strictly below `t`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from app.scoring.definition import tpr_key

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Roc:
    """ROC points in the order scikit-learn returns them, starting at (0, 0)."""

    fpr: FloatArray
    tpr: FloatArray


def _ranked(
    labels: NDArray[np.generic], predictions: FloatArray
) -> tuple[NDArray[np.generic], NDArray[np.generic]]:
    """Predictions (or keys equal exactly when they are) and labels, highest prediction first.

    Non-negative floats order as their bit patterns do, so one integer sort of
    `bits << 1 | label` ranks both at once: 40% faster than an argsort and a gather.
    """
    if predictions.size and predictions.min() >= 0:  # False for NaN too
        bits = (predictions + 0.0).view(np.int64)  # + 0.0 turns -0.0 into 0.0
        keys = np.sort((bits << 1) | (labels != 0))[::-1]
        return keys >> 1, keys & 1
    order = np.argsort(predictions)[::-1]
    return predictions[order], labels[order]


def roc_curve(labels: NDArray[np.generic], predictions: FloatArray) -> Roc:
    """ROC points of `predictions` against 0/1 `labels` (1 = member), collinear points dropped."""
    ranked, ranked_labels = _ranked(labels, predictions)
    # The last index of each run of equal predictions is a threshold.
    last = np.flatnonzero(np.diff(ranked))
    last = np.append(last, ranked.size - 1)
    tps = np.cumsum(ranked_labels)[last].astype(np.float64)  # integer sums: 3x faster
    fps = (last + 1) - tps
    if tps.size > 2:
        keep = np.empty(tps.size, dtype=bool)
        keep[0] = keep[-1] = True
        np.logical_or(np.diff(fps, 2), np.diff(tps, 2), out=keep[1:-1])
        tps, fps = tps[keep], fps[keep]
    tps = np.concatenate(([0.0], tps))
    fps = np.concatenate(([0.0], fps))
    return Roc(fpr=fps / fps[-1], tpr=tps / tps[-1])


def tpr_at_fpr(roc: Roc, threshold: float, inclusive: bool = False) -> float:
    """Largest TPR among ROC points with FPR strictly below `threshold` (or at most it)."""
    # FPR is non-decreasing along the curve and so is TPR: the last point below wins.
    below = int(np.searchsorted(roc.fpr, threshold, side="right" if inclusive else "left"))
    return float(roc.tpr[below - 1]) if below else 0.0


def auc(roc: Roc) -> float:
    """Area under the ROC curve by the trapezoid rule (ties count half)."""
    return float((np.diff(roc.fpr) * (roc.tpr[1:] + roc.tpr[:-1]) / 2.0).sum())


def scenario_metrics(
    labels: NDArray[np.generic],
    predictions: FloatArray,
    thresholds: tuple[float, ...],
    inclusive: bool = False,
) -> tuple[dict[str, float], Roc]:
    """Every official metric of one scenario and split, keyed as the official program keys them."""
    if labels.shape != predictions.shape:
        raise ValueError(f"{predictions.size} predictions for {labels.size} labels")
    roc = roc_curve(labels, predictions)
    metrics = {tpr_key(t): tpr_at_fpr(roc, t, inclusive) for t in thresholds}
    metrics["AUC"] = auc(roc)
    metrics["MIA"] = float(np.max(roc.tpr - roc.fpr))
    metrics["accuracy"] = float(np.max(1 - (roc.fpr + (1 - roc.tpr)) / 2))
    return metrics, roc


def compact_roc(roc: Roc, log_points: int = 90, linear_points: int = 40) -> dict[str, list[float]]:
    """A few hundred ROC vertices for plots, exact on both sides of every grid FPR.

    The grid is log-spaced from FPR 1e-4 and linear up to 1, so a log-log plot is right at low
    FPR and a linear plot is right everywhere; the vertex of the best advantage is kept too.
    """
    after = np.searchsorted(roc.fpr, _grid(log_points, linear_points), side="left")
    picks = np.concatenate(
        (after, after - 1, [0, roc.fpr.size - 1, int(np.argmax(roc.tpr - roc.fpr))])
    )
    picks = np.unique(np.clip(picks, 0, roc.fpr.size - 1))
    return {
        "fpr": np.round(roc.fpr[picks], 6).tolist(),
        "tpr": np.round(roc.tpr[picks], 6).tolist(),
    }


@cache
def _grid(log_points: int, linear_points: int) -> FloatArray:
    """FPR values a compact curve is exact around: log-spaced from 1e-4, and linear."""
    return np.concatenate((np.logspace(-4, 0, log_points), np.linspace(0, 1, linear_points)))
