"""Bootstrap intervals: every replicate is the official metric of weighted points, the quick
draw agrees with the plain one weight for weight, and the intervals behave as intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from app.scoring import bootstrap
from app.scoring.bootstrap import (
    Ranked,
    bootstrap_tpr,
    rank,
    ranking_interval,
    weighted_tpr_at_fpr,
)
from app.scoring.definition import MICO
from app.scoring.metrics import roc_curve, tpr_at_fpr
from app.scoring.readers import GroundTruth, Predictions, read_submission, read_truth
from app.scoring.scorer import score_split
from tests.scoring.test_metrics import make_case

IntArray = NDArray[np.int64]


class Explicit:
    """Given weights (rows x points, in ranked order) replayed through the quick draw: it must
    then give what the plain version gives for the same weights."""

    def __init__(self, ranked: Ranked, weights: NDArray[np.integer]) -> None:
        w = weights.astype(np.int64)
        zero = np.zeros((w.shape[0], 1), np.int64)
        self.members = np.concatenate((zero, np.cumsum(w * ranked.member, 1)[:, ranked.ends]), 1)
        others = np.concatenate((zero, np.cumsum(w * ~ranked.member, 1)[:, ranked.ends]), 1)
        self.others = np.diff(others, axis=1)[:, ranked.nonmembers > 0]
        self.looked_back = self.read_on = 0

    def nonmember_weights(self, count: int) -> IntArray:
        return self.others[:, :count]

    def nonmembers_after(self, count: int) -> IntArray:
        after: IntArray = self.others[:, count:].sum(axis=1)
        return after

    def member_sums(self, first: IntArray, stop: IntArray) -> IntArray:
        return np.take_along_axis(self.members, stop, 1) - np.take_along_axis(
            self.members, first, 1
        )

    def member_groups(self, row: int, stop: int, total: int) -> IntArray:
        self.looked_back += 1
        groups = np.diff(self.members[row, : stop + 1])
        assert groups.sum() == total
        return groups

    def nonmember_rest(self, row: int, count: int, total: int) -> IntArray:
        self.read_on += 1
        rest = self.others[row, count:]
        assert rest.sum() == total
        return rest


def _official(labels: NDArray[np.generic], predictions: NDArray[np.float64], t: float) -> float:
    if labels.size == 0 or labels.min() == labels.max():
        return float("nan")
    return tpr_at_fpr(roc_curve(labels, predictions), t)


@pytest.mark.parametrize("i", range(0, 600, 3))
def test_with_every_weight_1_a_replicate_is_the_official_metric(i: int) -> None:
    labels, predictions = make_case(i)
    for t in MICO.fpr_thresholds:
        ones = np.ones((1, labels.size), np.int64)
        assert weighted_tpr_at_fpr(labels, predictions, ones, t)[0] == _official(
            labels, predictions, t
        )


def _weighted_case(rng: np.random.Generator, case: int) -> tuple[NDArray[np.float64], ...]:
    n = int(rng.integers(2, 80))
    labels = rng.integers(0, 2, n).astype(np.float64)
    labels[0], labels[-1] = 1, 0
    predictions = np.round(rng.random(n) * 0.5 + labels * rng.random() * 0.5, case % 3)
    if case % 7 == 0:  # long collinear runs: drop_intermediate at work
        predictions = np.round(np.linspace(0, 1, n), 1 + case % 2)
    weights = rng.integers(0, int(rng.integers(1, 5)), (6, n))
    if case % 3 == 0:  # the best half weighs nothing: the crossing lies far on
        weights[:, : n // 2] = 0
    return labels, predictions, weights.astype(np.float64)


def test_integer_weights_give_the_official_metric_of_the_repeated_points() -> None:
    rng = np.random.default_rng(7)
    for case in range(600):
        labels, predictions, weights = _weighted_case(rng, case)
        t = float(rng.choice([0.001, 0.1, 0.2, 1 / 3, 1.0]))
        got = weighted_tpr_at_fpr(labels, predictions, weights.astype(np.int64), t)
        for row, w in enumerate(weights.astype(np.int64)):
            expected = _official(np.repeat(labels, w), np.repeat(predictions, w), t)
            assert got[row] == expected or (np.isnan(got[row]) and np.isnan(expected)), case


def test_the_quick_draw_agrees_with_the_plain_version_weight_for_weight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small windows and no margin force its rare paths (looking back, reading on)."""
    rng = np.random.default_rng(11)
    looked_back = read_on = 0
    for case in range(900):
        monkeypatch.setattr(bootstrap, "WINDOW", int(rng.choice([1, 2, 32])))
        monkeypatch.setattr(bootstrap, "HEAD_SIGMAS", int(rng.choice([0, 8])))
        labels, predictions, weights = _weighted_case(rng, case)
        t = float(rng.choice([0.05, 0.1, 0.5, 1.0]))
        ranked = rank(labels, predictions)
        draws = Explicit(ranked, weights.astype(np.int64)[:, ranked.order])
        quick = bootstrap._tpr_drawn(ranked, draws, weights.shape[0], t)
        plain = weighted_tpr_at_fpr(labels, predictions, weights.astype(np.int64), t)
        np.testing.assert_array_equal(quick, plain, err_msg=f"case {case}")
        looked_back += draws.looked_back
        read_on += draws.read_on
    assert looked_back > 100 and read_on > 100


def _scenario(
    rng: np.random.Generator, models: int, strength: float
) -> tuple[NDArray[np.float64], ...]:
    labels = np.tile(np.repeat([1.0, 0.0], 100), models)
    noise = rng.normal(0, 1, labels.size)
    predictions = 1 / (1 + np.exp(-(strength * (2 * labels - 1) + noise)))
    return labels, predictions.astype(np.float32).astype(np.float64)


def test_the_quick_draw_has_the_distribution_of_plain_poisson_weights() -> None:
    labels, predictions = _scenario(np.random.default_rng(3), 50, 0.6)
    quick = bootstrap_tpr(labels, predictions, 0.1, np.random.default_rng(1), 2000)
    rng = np.random.default_rng(2)
    plain = np.concatenate(
        [
            weighted_tpr_at_fpr(labels, predictions, rng.poisson(1.0, (100, 10_000)), 0.1)
            for _ in range(10)
        ]
    )
    # 2,000 and 1,000 replicates: the mean within 4 standard errors, the spread within 15%.
    spread = plain.std()
    assert abs(quick.mean() - plain.mean()) < 4 * spread * np.sqrt(1 / 2000 + 1 / 1000)
    assert 0.85 < quick.std() / spread < 1.15


@pytest.fixture(scope="module")
def demo_scores(demo: Path) -> tuple[GroundTruth, dict[str, Predictions]]:
    truth = read_truth(demo / "truth")
    zips = {a: (demo / "submissions" / f"cifar10-{a}.zip").read_bytes() for a in ("strong", "weak")}
    return truth, {a: read_submission(z, track="cifar10") for a, z in zips.items()}


def test_a_demo_submission_s_interval_holds_its_ranking_score(
    demo_scores: tuple[GroundTruth, dict[str, Predictions]],
) -> None:
    truth, submissions = demo_scores
    for attack, predictions in submissions.items():
        for split in ("dev", "final"):
            score = score_split(predictions, truth, MICO, split).ranking_score
            interval = ranking_interval(predictions, truth, MICO, split, seed=(17, 1))
            assert interval.estimate == score  # the same number, to the last bit
            assert interval.low < score < interval.high, (attack, split, interval)
            assert interval.high - interval.low < 0.1


def test_the_same_seed_gives_the_same_interval_and_another_seed_another(
    demo_scores: tuple[GroundTruth, dict[str, Predictions]],
) -> None:
    truth, submissions = demo_scores
    weak = submissions["weak"]
    first = ranking_interval(weak, truth, MICO, "dev", seed=(5, 2))
    assert ranking_interval(weak, truth, MICO, "dev", seed=(5, 2)) == first
    assert ranking_interval(weak, truth, MICO, "dev", seed=(6, 2)) != first


def test_a_perfect_attack_has_a_narrow_interval_at_1() -> None:
    labels = np.tile(np.repeat([1.0, 0.0], 100), 50)
    replicated = bootstrap_tpr(labels, labels * 0.9 + 0.05, 0.1, np.random.default_rng(0))
    assert replicated.min() == replicated.max() == 1.0


def test_the_interval_narrows_as_points_grow() -> None:
    rng = np.random.default_rng(4)
    widths = []
    for models in (2, 8, 32):
        labels, predictions = _scenario(rng, models, 0.6)
        replicated = bootstrap_tpr(labels, predictions, 0.1, np.random.default_rng(models))
        low, high = np.percentile(replicated, [2.5, 97.5])
        widths.append(high - low)
    assert widths[0] > 1.6 * widths[1] > 1.6**2 * widths[2]  # about 1/sqrt(points): 2x each


def test_odd_input_is_refused_or_marked() -> None:
    with pytest.raises(ValueError, match="predictions for"):
        rank(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="threshold"):
        bootstrap_tpr(np.array([1.0, 0.0]), np.array([0.5, 0.2]), 0.0, np.random.default_rng())
    # Tiny data: a replicate that weighs no member has no TPR (NaN), never a number.
    replicated = bootstrap_tpr(
        np.array([1.0, 0.0]), np.array([0.5, 0.2]), 0.5, np.random.default_rng(0), 200
    )
    assert np.isnan(replicated).any() and set(replicated[~np.isnan(replicated)]) <= {0.0, 1.0}
