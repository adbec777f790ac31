"""The cluster bootstrap: common weights give the official metric of the weighted points, and
on simulated data where points of one model are correlated its intervals cover the truth about
95% of the time, where the point bootstrap's do not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from app.scoring import bootstrap
from app.scoring.bootstrap import (
    bootstrap_tpr,
    cluster_weights,
    rank,
    tpr_of_weights,
    weighted_tpr_at_fpr,
)

CUT = 1.2815515655446004  # the 90% quantile of N(0, 1): non-members above it are 10%


def _totals(
    labels: NDArray[np.float64], weights: NDArray[np.uint8]
) -> tuple[NDArray[np.int64], ...]:
    member = labels != 0
    return weights[member].sum(0, dtype=np.int64), weights[~member].sum(0, dtype=np.int64)


def test_common_weights_give_the_official_metric_of_the_weighted_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small windows and heads force the rare paths (no ROC point in the window, a crossing
    past the head), which must give the same numbers."""
    rng = np.random.default_rng(21)
    for case in range(300):
        monkeypatch.setattr(bootstrap, "WINDOW", int(rng.choice([1, 2, 32])))
        monkeypatch.setattr(bootstrap, "HEAD_MARGIN", float(rng.choice([0.1, 1.5])))
        models, per_model = int(rng.integers(1, 8)), int(rng.integers(2, 12))
        labels = rng.integers(0, 2, models * per_model).astype(np.float64)
        predictions = np.round(
            rng.random(labels.size) * 0.5 + labels * rng.random() * 0.5, case % 3
        )
        weights = cluster_weights(rng, models, per_model, 40)
        t = float(rng.choice([0.05, 0.1, 0.5, 1.0]))
        got = tpr_of_weights(rank(labels, predictions), weights, _totals(labels, weights), t)
        plain = weighted_tpr_at_fpr(labels, predictions, weights.T.astype(np.int64), t)
        np.testing.assert_array_equal(got, plain, err_msg=f"case {case}")


def test_a_model_s_points_share_its_weight() -> None:
    weights = cluster_weights(np.random.default_rng(0), 30, 7, 200)
    per_model = weights.reshape(30, 7, 200)
    assert (per_model == per_model[:, :1]).all()
    assert 0.9 < weights.mean() < 1.1 and 0.8 < per_model[:, 0].var() < 1.2  # Poisson(1)


def simulated_track(
    rng: np.random.Generator, models: int = 40, per_model: int = 50, effect: float = 0.8
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each model's members score N(1.5 + u, 1), u ~ N(0, effect) the model's own (how well
    the attack works on it), its non-members N(0, 1): points of one model are correlated."""
    half = per_model // 2
    labels = np.tile(np.repeat([1.0, 0.0], half), models)
    shift = np.repeat(1.5 + rng.normal(0, effect, models), per_model) * labels
    return labels, rng.normal(0, 1, labels.size) + shift


def true_tpr(effect: float = 0.8) -> float:
    """The population TPR at 10% FPR: P(N(1.5 + u, 1) > CUT) over u ~ N(0, effect)."""
    z = (1.5 - CUT) / math.sqrt(1 + effect**2)
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def test_cluster_intervals_cover_the_truth_about_95_percent_where_point_ones_do_not() -> None:
    rng = np.random.default_rng(2026)
    truth, datasets = true_tpr(), 200
    covered = {"cluster": 0, "points": 0}
    for _ in range(datasets):
        labels, predictions = simulated_track(rng)
        weights = cluster_weights(rng, 40, 50)
        cluster = tpr_of_weights(rank(labels, predictions), weights, _totals(labels, weights), 0.1)
        points = bootstrap_tpr(labels, predictions, 0.1, rng)
        for name, replicated in (("cluster", cluster), ("points", points)):
            low, high = np.percentile(replicated, [2.5, 97.5])
            covered[name] += int(low <= truth <= high)
    cluster_share, point_share = covered["cluster"] / datasets, covered["points"] / datasets
    print(f"coverage of {datasets} datasets: cluster {cluster_share:.1%}, points {point_share:.1%}")
    assert 0.88 <= cluster_share <= 0.99
    assert point_share < 0.85 and cluster_share - point_share > 0.1
