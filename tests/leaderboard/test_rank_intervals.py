"""Rank intervals: every row ranked in each common replicate; rows the data cannot tell apart
share a group, a clearly better one stands alone at rank 1."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from app.leaderboard.service import Entry, rank_intervals
from app.scoring.bootstrap import cluster_weights, rank, tpr_of_weights
from tests.scoring.test_cluster_bootstrap import simulated_track


def _entry(i: int, score: float) -> Entry:
    return Entry(i, f"p{i}", i, score, datetime(2026, 12, 1, tzinfo=UTC), 1)


def _replicated(
    labels: NDArray[np.float64], predictions: NDArray[np.float64]
) -> NDArray[np.float32]:
    weights = cluster_weights(np.random.default_rng(99), 40, 50)  # the track's, for every row
    member = labels != 0
    totals = weights[member].sum(0, dtype=np.int64), weights[~member].sum(0, dtype=np.int64)
    return tpr_of_weights(rank(labels, predictions), weights, totals, 0.1).astype(np.float32)


def test_identical_attacks_share_a_group_and_a_clearly_better_one_is_alone_at_rank_1() -> None:
    rng = np.random.default_rng(5)
    labels, predictions = simulated_track(rng)
    better = predictions + 2.0 * labels  # every member far higher
    replicated = {1: _replicated(labels, better), 2: _replicated(labels, predictions)}
    replicated[3] = _replicated(labels, predictions.copy())
    entries = rank_intervals([_entry(1, 0.9), _entry(2, 0.5), _entry(3, 0.5)], replicated)
    first, second, third = entries
    assert (first.rank_low, first.rank_high, first.group) == (1, 1, 1)
    assert second.group == third.group == 2
    assert (second.rank_low, second.rank_high) == (third.rank_low, third.rank_high) == (2, 2)


def test_close_attacks_have_wide_rank_intervals_and_rows_without_replicates_keep_none() -> None:
    rng = np.random.default_rng(6)
    labels, predictions = simulated_track(rng)
    noise = [rng.normal(0, 0.05, labels.size) for _ in range(3)]
    replicated = {i: _replicated(labels, predictions + noise[i - 1]) for i in (1, 2, 3)}
    entries = [_entry(i, 0.5) for i in (1, 2, 3, 4)]
    ranked = rank_intervals(entries, replicated)
    assert all(e.group == 1 for e in ranked[:3]), ranked
    assert any(e.rank_high - e.rank_low >= 1 for e in ranked[:3] if e.rank_high and e.rank_low)
    assert ranked[3].rank_low is None and ranked[3].group is None


def test_a_group_is_anchored_on_its_first_row() -> None:
    """D overlaps B and C, which overlap A, but not A itself: D starts the next group (a chain
    of overlaps would have put it with A)."""
    patterns = {  # four replicate patterns, each a quarter of the replicates
        1: [4, 3, 4, 4],
        2: [3, 4, 1, 2.5],
        3: [2, 2, 3, 3],
        4: [1, 1, 2, 1],
    }
    replicated = {i: np.array(p * 25, np.float32) for i, p in patterns.items()}
    ranked = rank_intervals([_entry(i, 5 - i) for i in patterns], replicated)
    assert [(e.rank_low, e.rank_high) for e in ranked] == [(1, 2), (1, 4), (2, 3), (3, 4)]
    assert [e.group for e in ranked] == [1, 1, 1, 2]
