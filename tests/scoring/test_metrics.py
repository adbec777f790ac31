"""The metrics against the official program's way (scikit-learn) on 600 generated cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.typing import NDArray

from app.scoring.definition import MICO
from app.scoring.metrics import Roc, compact_roc, roc_curve, scenario_metrics, tpr_at_fpr
from tests.official import official_metrics

Case = tuple[NDArray[np.int8], NDArray[np.float64]]
KINDS = (
    "continuous",
    "rounded1",
    "rounded2",
    "rounded3",
    "constant",
    "perfect",
    "inverted",
    "extremes",
    "on_threshold",
    "diagonal_runs",
    "few_values",
    "mico_sized",
)


def _labels(rng: np.random.Generator, n: int) -> NDArray[np.int8]:
    """Random 0/1 labels with both classes present."""
    y = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(np.int8)
    y[0], y[-1] = 1, 0
    return y


def _signal(rng: np.random.Generator, y: NDArray[np.int8]) -> NDArray[np.float64]:
    """Member confidences of random strength, squashed into [0, 1]."""
    z = rng.normal(size=y.size) + rng.uniform(-1, 3) * (2 * y - 1)
    return 1 / (1 + np.exp(-z))


def make_case(i: int) -> Case:
    """Case number i: its kind cycles through KINDS, its data comes from seed i."""
    kind = KINDS[i % len(KINDS)]
    rng = np.random.default_rng(i)
    y = _labels(rng, int(rng.integers(2, 3000)))
    p = _signal(rng, y)
    if kind.startswith("rounded"):
        p = np.round(p, int(kind[-1]))
    elif kind == "constant":
        p = np.full(y.size, rng.choice([0.0, 0.5, 1.0]))
    elif kind == "perfect":
        p = np.where(y == 1, rng.uniform(0.6, 1.0, y.size), rng.uniform(0.0, 0.4, y.size))
    elif kind == "inverted":
        p = np.where(y == 1, rng.uniform(0.0, 0.4, y.size), rng.uniform(0.6, 1.0, y.size))
    elif kind == "extremes":
        p = np.where(rng.random(y.size) < 0.5, np.round(p), p)
    elif kind == "on_threshold":
        # 1000 or 100 non-members: FPR steps of 1/1000 land exactly on 0.001, 0.01, 0.1 ...
        negatives = int(rng.choice([100, 1000]))
        y = np.r_[np.zeros(negatives), np.ones(int(rng.integers(1, 1500)))].astype(np.int8)
        p = np.round(_signal(rng, y), int(rng.integers(1, 4)))
    elif kind == "diagonal_runs":
        # Runs of ties holding one member and one non-member: collinear ROC points.
        steps = int(rng.integers(2, 400))
        y = np.tile(np.array([1, 0], dtype=np.int8), steps)
        p = np.repeat(np.sort(rng.random(steps)), 2)
    elif kind == "few_values":
        p = rng.integers(0, int(rng.integers(1, 6)) + 1, y.size) / 5
    elif kind == "mico_sized":
        y = np.tile(np.r_[np.ones(100), np.zeros(100)].astype(np.int8), 50)
        p = _signal(rng, y).astype(np.float32).astype(np.float64)
    return y, p


@pytest.mark.parametrize("i", range(600))
def test_every_metric_matches_the_official_program(i: int) -> None:
    """Each of the nine metrics equals scikit-learn's, used as the official program uses it."""
    y, p = make_case(i)
    ours, _ = scenario_metrics(y, p, MICO.fpr_thresholds)
    expected = official_metrics(y.astype(np.float64), p)
    assert ours.keys() == expected.keys()
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, abs=1e-9, rel=0), (KINDS[i % len(KINDS)], key)


def test_roc_points_are_scikit_learns() -> None:
    """The ROC vertices themselves match roc_curve's, intermediate points dropped alike."""
    from sklearn.metrics import roc_curve as sk_roc_curve

    for i in range(0, 120, 7):
        y, p = make_case(i)
        # p - 0.5 takes the argsort path kept for scores outside [0, 1].
        for scores in (p, p - 0.5):
            fpr, tpr, _ = sk_roc_curve(y, scores)
            roc = roc_curve(y, scores)
            assert np.array_equal(roc.fpr, fpr) and np.array_equal(roc.tpr, tpr), KINDS[i % 12]


def test_collinear_points_are_dropped_as_the_official_program_drops_them() -> None:
    """Twenty ties of one member and one non-member: TPR at FPR < 0.2 is 0.05, not 0.15.

    Every threshold's point lies on the diagonal; scikit-learn keeps only the first and the
    last, so the official answer is 0.05 where a plain "every threshold" curve would say 0.15.
    """
    y = np.tile(np.array([1, 0], dtype=np.int8), 20)
    p = np.repeat(np.linspace(1.0, 0.05, 20), 2)
    metrics, _ = scenario_metrics(y, p, (0.2,))
    assert metrics["TPR_FPR_2000"] == 0.05
    assert official_metrics(y.astype(float), p)["TPR_FPR_2000"] == 0.05


def test_tpr_at_fpr_excludes_a_point_exactly_on_the_threshold() -> None:
    """A ROC point at FPR exactly 0.1 does not count for TPR at FPR < 0.1."""
    roc = Roc(fpr=np.array([0.0, 0.1, 1.0]), tpr=np.array([0.0, 0.9, 1.0]))
    assert tpr_at_fpr(roc, 0.1) == 0.0
    assert tpr_at_fpr(roc, 0.1000001) == 0.9


def test_compact_roc_is_small_and_exact_at_low_fpr() -> None:
    """A MICO-sized curve shrinks to a few KB and keeps TPR at FPR from 1e-4 up exact."""
    y, p = make_case(KINDS.index("mico_sized"))
    roc = roc_curve(y, p)
    compact = compact_roc(roc)
    assert len(json.dumps(compact)) < 6000 < len(json.dumps(roc.fpr.tolist()))
    small = Roc(np.array(compact["fpr"]), np.array(compact["tpr"]))
    assert (small.fpr[0], small.tpr[0], small.fpr[-1], small.tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(small.fpr) >= 0) and np.all(np.diff(small.tpr) >= 0)
    for t in np.logspace(-4, 0, 90)[1:]:
        assert tpr_at_fpr(small, t * (1 + 1e-9)) == pytest.approx(
            tpr_at_fpr(roc, t * (1 + 1e-9)), abs=1e-6
        )


def test_negative_zero_ties_with_zero() -> None:
    """-0.0 (a participant's "-0") and 0.0 are one threshold, as scikit-learn sees them."""
    from sklearn.metrics import roc_curve as sk_roc_curve

    y = np.array([1, 0, 1, 0, 1, 0], dtype=np.int8)
    p = np.array([-0.0, 0.0, 0.0, -0.0, 0.7, 0.2])
    fpr, tpr, _ = sk_roc_curve(y, p)
    roc = roc_curve(y, p)
    assert np.array_equal(roc.fpr, fpr) and np.array_equal(roc.tpr, tpr)
