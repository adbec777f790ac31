"""Bootstrap intervals of the ranking score: how far the data lets two rows be told apart.

The intervals are a cluster bootstrap (`ranking_interval`): the challenge points of one model
are not independent (an attack works better on some models than on others), so a replicate
resamples the models: each model of each scenario gets a Poisson(1) weight, as if it had been
drawn that many times, and its points all carry it (`cluster_weights`). Its points are kept as
they are, not resampled again within the model: resampling whole clusters already reproduces
the within-model noise, and resampling the points again would count it twice and widen the
interval (Davison & Hinkley 1997, Bootstrap Methods and their Application, section 3.8,
two-stage sampling: with many clusters, resample clusters with replacement and the units
within them without, i.e. keep them; Field & Welsh 2007, Bootstrapping clustered data, JRSS B
69(3), on when the cluster bootstrap is consistent). The weights come from a seed of the track
and split, not of the submission: every submission of a track is scored under the same
replicates, so one replicate ranks them against one another (rank intervals,
`app.leaderboard.service.rank_intervals`).

A replicate computes the ranking score of the weighted points exactly as `app.scoring.metrics`
does for real ones: the ROC curve with collinear points dropped as scikit-learn drops them, the
largest TPR among ROC points whose FPR is strictly below the threshold, aggregated over the
scenarios the submission has as the track's ranking score is (MICO: the mean; MIDST: the max).
The interval is the central `confidence` share of the replicates (the percentile bootstrap).

`weighted_tpr_at_fpr` is the plain version, one weight per point: with every weight 1 it is
the official metric to the last bit, with integer weights the official metric of the points
repeated that many times. `tpr_of_weights` gives the same numbers reading only what decides
them: the non-members up to a little past the cut, the members of the few ROC points before
each replicate's crossing, and one sum of the members before those.

`bootstrap_tpr` is the point bootstrap the intervals used before (a Poisson(1) weight per point,
drawn only where it matters: a sum of n Poisson(1) weights is one Poisson(n) draw, and the
rare replicate that needs more gets it drawn given that sum, a multinomial). The tests keep it
to show what it misses: on data with a model effect it under-covers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from app.scoring.definition import Aggregate, Definition
from app.scoring.readers import GroundTruth, Predictions
from app.scoring.scorer import aggregate

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
REPLICATES = 1000
WINDOW = 32  # ROC points before the crossing whose members are drawn one group at a time
HEAD_SIGMAS = 8  # non-members drawn one by one: the threshold's share, and this many sd more
HEAD_MARGIN = 1.5  # common weights: non-members read one by one, as a multiple of the cut's


@dataclass(frozen=True)
class Interval:
    """A bootstrap interval of a ranking score, and the score itself (every weight 1)."""

    low: float
    high: float
    estimate: float
    # Each replicate's ranking score, in the order of the common replicates (NaN: none).
    replicated: FloatArray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)


@dataclass(frozen=True)
class Ranked:
    """One scenario's points ordered by prediction, highest first, and grouped into ROC
    thresholds (runs of equal predictions): what every replicate reuses."""

    order: NDArray[np.intp]  # points, best first
    member: NDArray[np.bool_]  # of each point in that order
    ends: NDArray[np.intp]  # the last point of each threshold
    members: IntArray  # per threshold: how many members
    nonmembers: IntArray  # per threshold: how many non-members

    @property
    def groups(self) -> int:
        """How many thresholds (distinct predictions)."""
        return int(self.ends.size)


def rank(labels: NDArray[np.generic], predictions: FloatArray) -> Ranked:
    """Sort once per scenario (members after non-members among equal predictions: any order
    within a threshold gives the same curve)."""
    if labels.shape != predictions.shape:
        raise ValueError(f"{predictions.size} predictions for {labels.size} labels")
    member = labels != 0
    order = np.lexsort((member, predictions))[::-1]
    ranked = predictions[order]
    ends = np.append(np.flatnonzero(np.diff(ranked)), ranked.size - 1)
    members = np.diff(np.cumsum(member[order], dtype=np.int64)[ends], prepend=0)
    sizes = np.diff(ends, prepend=-1).astype(np.int64)
    return Ranked(order, member[order], ends, members, sizes - members)


def _last_kept(
    tps: IntArray, fps: IntArray, tp_before: IntArray, fp_before: IntArray, limit: IntArray
) -> NDArray[np.intp]:
    """Per row, the last column before `limit` that is a ROC point once scikit-learn's
    drop_intermediate has run; -1 for none. Columns are thresholds in order, as cumulative
    weights (`*_before`: before the first column); column `limit` must be a ROC point.

    A threshold whose points all weigh 0 is no ROC point; a point is dropped when the steps
    into it and out of it (to the next real point) are equal, except the first point."""
    columns = tps.shape[1]
    step_tp = np.diff(tps, axis=1, prepend=tp_before[:, None])
    step_fp = np.diff(fps, axis=1, prepend=fp_before[:, None])
    step = step_tp * (int(fps.max(initial=0)) + 1) + step_fp  # one integer per step
    present = step > 0
    first = present & (tps - step_tp + fps - step_fp == 0)  # nothing weighed before it
    column = np.arange(columns)
    upcoming = np.where(present, column, columns - 1)
    following = np.minimum.accumulate(upcoming[:, ::-1], axis=1)[:, ::-1]  # next real, >= i
    after = np.concatenate((following[:, 1:], following[:, -1:]), axis=1)
    kept = present & (first | (step != np.take_along_axis(step, after, 1)))
    kept &= column < limit[:, None]
    last: NDArray[np.intp] = np.where(kept, column, -1).max(axis=1)
    return last


def _cutoff(total_fp: IntArray, threshold: float) -> IntArray:
    """The least integer weight f with f / total >= threshold in floating point, the division
    metrics.roc_curve makes: `fp < cutoff` is then exactly `FPR < threshold`."""
    start = np.maximum(np.floor(threshold * total_fp).astype(np.int64) - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        below = [(start + k) / total_fp < threshold for k in range(4)]
    cutoff: IntArray = start + np.sum(below, axis=0)
    return cutoff


def _tpr_rows(ranked: Ranked, weights: NDArray[np.integer], threshold: float) -> FloatArray:
    """The plain version: TPR at FPR < `threshold` for each row of weights (points in ranked
    order), NaN for a row that weighs no member or no non-member."""
    rows = weights.shape[0]
    tps = np.cumsum(weights * ranked.member, axis=1, dtype=np.int64)[:, ranked.ends]
    fps = np.cumsum(weights, axis=1, dtype=np.int64)[:, ranked.ends] - tps
    total_tp, total_fp = tps[:, -1], fps[:, -1]
    below = np.count_nonzero(fps < _cutoff(total_fp, threshold)[:, None], axis=1)
    # The first threshold not below is a ROC point (its FPR rose), so it closes the search.
    zero = np.zeros(rows, np.int64)
    last = _last_kept(tps, fps, zero, zero, np.minimum(below, ranked.groups - 1))
    tp = np.take_along_axis(tps, np.maximum(last, 0)[:, None], 1)[:, 0]
    return _tpr(np.where(last >= 0, tp, 0), total_tp, total_fp)


def _tpr(tp: IntArray, total_tp: IntArray, total_fp: IntArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = tp / total_tp
    return np.where((total_tp == 0) | (total_fp == 0), np.nan, tpr)


def weighted_tpr_at_fpr(
    labels: NDArray[np.generic],
    predictions: FloatArray,
    weights: NDArray[np.integer],
    threshold: float,
) -> FloatArray:
    """TPR at FPR < `threshold` for each row of non-negative integer `weights` (one weight per
    point, in the points' order): the official metric of the points repeated that many times."""
    ranked = rank(labels, predictions)
    return _tpr_rows(ranked, np.atleast_2d(weights)[:, ranked.order], threshold)


class Draws(Protocol):
    """Where the weights of a batch of replicates come from (random, or replayed in tests)."""

    def nonmember_weights(self, count: int) -> NDArray[np.integer]:
        """(rows, count): the non-members' weight in each of the first `count` thresholds
        that hold non-members."""

    def nonmembers_after(self, count: int) -> IntArray:
        """(rows,): the non-members' weight in the other thresholds."""

    def member_sums(self, first: IntArray, stop: IntArray) -> IntArray:
        """Elementwise: the members' weight in thresholds first..stop-1 of each row (`first`
        and `stop` of shape (rows, k)); each threshold is asked for at most once per row."""

    def member_groups(self, row: int, stop: int, total: int) -> IntArray:
        """One row: the members' weight of each threshold before `stop`, given their sum."""

    def nonmember_rest(self, row: int, count: int, total: int) -> IntArray:
        """One row: nonmember_weights of the thresholds after the first `count`, given their
        sum."""


def _tpr_drawn(ranked: Ranked, draws: Draws, rows: int, threshold: float) -> FloatArray:
    """TPR at FPR < `threshold` of `rows` replicates, drawing only the weights that matter."""
    nonmembers = int(ranked.nonmembers.sum())
    if nonmembers == 0 or nonmembers == ranked.member.size:
        return np.full(rows, np.nan)
    # Only thresholds holding non-members move the FPR: they are the columns of `fp`.
    in_group = np.flatnonzero(ranked.nonmembers)  # the threshold of each column
    nm_end = np.cumsum(ranked.nonmembers > 0)  # columns in thresholds 0..g
    counted = np.cumsum(ranked.nonmembers[in_group])
    # Where the cut falls: near threshold * nonmembers, give or take the spread of the weight
    # up to there (Poisson) and of the cut (threshold times a Poisson total).
    spread = math.sqrt(threshold * nonmembers * (1 + threshold))
    enough = threshold * nonmembers + HEAD_SIGMAS * (spread + 4)
    head = min(int(np.searchsorted(counted, enough)) + 1, in_group.size)
    fp = np.zeros((rows, head + 1), np.int64)
    np.cumsum(draws.nonmember_weights(head), axis=1, out=fp[:, 1:])
    total_fp = fp[:, head] + draws.nonmembers_after(head)
    cut = _cutoff(total_fp, threshold)
    if head < in_group.size and np.any(fp[:, head] < cut):  # rare: a crossing further on
        rest = [draws.nonmember_rest(r, head, int(total_fp[r] - fp[r, head])) for r in range(rows)]
        fp = np.concatenate((fp, fp[:, head : head + 1] + np.cumsum(rest, axis=1)), axis=1)
    below = np.count_nonzero(fp[:, 1:] < cut[:, None], axis=1)  # columns under the cut
    crossing = in_group[np.minimum(below, in_group.size - 1)]  # the first threshold past it
    columns = crossing[:, None] - WINDOW + np.arange(WINDOW + 1)
    start = np.maximum(columns[:, 0], 0)
    clipped = np.maximum(columns, 0)
    drawn = np.where(columns >= 0, clipped + 1, clipped)  # nothing drawn before threshold 0
    tp_before = draws.member_sums(np.zeros((rows, 1), np.int64), start[:, None])[:, 0]
    tps = tp_before[:, None] + np.cumsum(draws.member_sums(clipped, drawn), axis=1)
    nm_before = np.where(start > 0, nm_end[start - 1], 0)
    fp_before = np.take_along_axis(fp, nm_before[:, None], 1)[:, 0]
    fps = np.where(columns >= 0, np.take_along_axis(fp, nm_end[clipped], 1), 0)
    after = draws.member_sums((crossing + 1)[:, None], np.full((rows, 1), ranked.groups))
    total_tp = tps[:, -1] + after[:, 0]
    last = _last_kept(tps, fps, tp_before, fp_before, np.full(rows, WINDOW))
    tp = np.take_along_axis(tps, np.maximum(last, 0)[:, None], 1)[:, 0]
    tp = np.where(last >= 0, tp, 0)
    # No ROC point in the window but weight before it: look further back (very rare).
    for r in np.flatnonzero((last < 0) & (tp_before + fp_before > 0)):
        groups = draws.member_groups(int(r), int(start[r]), int(tp_before[r]))
        window = np.diff(tps[r], prepend=tp_before[r])
        member_cum = np.cumsum(np.concatenate((groups, window)))[None]
        fp_cum = fp[r, nm_end[: crossing[r] + 1]][None]
        zero = np.zeros(1, np.int64)
        found = _last_kept(member_cum, fp_cum, zero, zero, crossing[r : r + 1])[0]
        tp[r] = member_cum[0, found] if found >= 0 else 0
    return _tpr(tp, total_tp, total_fp)


class _Random:
    """Poisson(1) weights, drawn only where they matter (see the module's docstring)."""

    def __init__(self, ranked: Ranked, rng: np.random.Generator, rows: int) -> None:
        self.ranked, self.rng, self.rows = ranked, rng, rows
        self.member_cum = np.concatenate(([0], np.cumsum(ranked.members)))
        self.nonmembers = ranked.nonmembers[ranked.nonmembers > 0]

    def nonmember_weights(self, count: int) -> NDArray[np.integer]:
        counts = np.broadcast_to(self.nonmembers[:count], (self.rows, count))
        return poisson_sums(self.rng, counts)

    def nonmembers_after(self, count: int) -> IntArray:
        return self.rng.poisson(int(self.nonmembers[count:].sum()), self.rows)

    def member_sums(self, first: IntArray, stop: IntArray) -> IntArray:
        return poisson_sums(self.rng, self.member_cum[stop] - self.member_cum[first])

    def member_groups(self, row: int, stop: int, total: int) -> IntArray:
        counts = self.ranked.members[:stop]
        return self.rng.multinomial(total, counts / counts.sum())

    def nonmember_rest(self, row: int, count: int, total: int) -> IntArray:
        others = self.nonmembers[count:]
        return self.rng.multinomial(total, others / others.sum())


@cache
def _poisson_table() -> NDArray[np.uint8]:
    """Poisson(1) by inverse CDF over 16 random bits: 65,536 entries, each probability right
    to within 2^-16 (values above 8, together below 2^-16, never drawn)."""
    cdf = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(20)])
    return np.searchsorted(cdf * 65536, np.arange(65536) + 0.5).astype(np.uint8)


def poisson_weights(rng: np.random.Generator, rows: int, points: int) -> NDArray[np.uint8]:
    """A (rows, points) array of Poisson(1) weights; 10x faster than `rng.poisson`."""
    bits = np.frombuffer(rng.bytes(rows * points * 2), dtype=np.uint16)
    return _poisson_table()[bits].reshape(rows, points)


def poisson_sums(rng: np.random.Generator, counts: NDArray[np.integer]) -> IntArray:
    """Elementwise, the sum of `counts` Poisson(1) weights, which is Poisson(counts): the
    table for the usual count of 1 (numpy's Poisson sampler costs 100 ns a value here)."""
    ones = counts == 1
    sums = poisson_weights(rng, 1, counts.size).reshape(counts.shape).astype(np.int64)
    sums[~ones] = 0
    more = counts > 1
    if more.any():
        sums[more] = rng.poisson(counts[more])
    return sums


def bootstrap_tpr(
    labels: NDArray[np.generic],
    predictions: FloatArray,
    threshold: float,
    rng: np.random.Generator,
    replicates: int = REPLICATES,
) -> FloatArray:
    """TPR at FPR < `threshold` of `replicates` Poisson-bootstrap replicates of one scenario
    (NaN for one that weighs no member or no non-member)."""
    if not 0 < threshold <= 1:
        raise ValueError(f"an FPR threshold is in (0, 1], not {threshold}")
    ranked = rank(labels, predictions)
    return _tpr_drawn(ranked, _Random(ranked, rng, replicates), replicates, threshold)


def cluster_weights(
    rng: np.random.Generator, models: int, points_per_model: int, replicates: int = REPLICATES
) -> NDArray[np.uint8]:
    """A (points, replicates) array of cluster-bootstrap weights, point-major (one row per
    challenge point, models in order, `points_per_model` points each): every model draws a
    Poisson(1) weight per replicate, as if it had been drawn that many times, and each of its
    points carries that weight (the models resampled, the points of a drawn model kept).
    A point row is what a submission's ranked order gathers, so rows are contiguous."""
    per_model = poisson_weights(rng, replicates, models).T  # (models, replicates)
    return np.repeat(per_model, points_per_model, axis=0)


def tpr_of_weights(
    ranked: Ranked,
    weights: NDArray[np.uint8],
    totals: tuple[IntArray, IntArray],
    threshold: float,
) -> FloatArray:
    """TPR at FPR < `threshold` of each replicate (a column of the point-major `weights`,
    points in their own order; `totals`: each column's member and non-member weight): the
    numbers `weighted_tpr_at_fpr` gives for the transposed weights, reading only what decides
    them: the non-members up to a margin past the cut, one by one; the members of the WINDOW
    thresholds before each replicate's crossing; one sum of the members before those. The rare
    replicate that crosses later, or has no ROC point in its window, is computed the plain way.
    """
    total_tp, total_fp = totals
    replicates = weights.shape[1]
    valid = (total_tp > 0) & (total_fp > 0)
    if not valid.any():
        return np.full(replicates, np.nan)
    cut = _cutoff(np.where(valid, total_fp, 1), threshold)
    nonmember_count = np.cumsum(ranked.nonmembers)  # per threshold, up to and including it
    member_count = np.cumsum(ranked.members)
    nonmembers = int(nonmember_count[-1])
    wanted = min(nonmembers, int(threshold * nonmembers * HEAD_MARGIN) + 64)
    head = int(nonmember_count[np.searchsorted(nonmember_count, wanted)])  # whole thresholds
    nonmember_order = ranked.order[~ranked.member]
    fp_cum = _running(weights[nonmember_order[:head]], np.zeros(replicates, np.int64))
    under = np.count_nonzero(fp_cum[1:] < cut, axis=0)  # non-members before the cut
    late = valid & (under == head) & (head < nonmembers)
    crossing = np.minimum(np.searchsorted(nonmember_count, under, side="right"), ranked.groups - 1)
    crossing = np.where(late | ~valid, 0, crossing)
    columns = crossing[:, None] - WINDOW + np.arange(WINDOW + 1)
    start = columns[:, 0]
    first = int(member_count[max(int(start.min()) - 2, 0)]) if start.min() > 1 else 0
    member_order = ranked.order[ranked.member]
    base = weights[member_order[:first]].sum(axis=0, dtype=np.int64)
    last_member = int(member_count[int(crossing.max())])
    tp_cum = _running(weights[member_order[first:last_member]], base)
    lane = np.arange(replicates)[:, None]

    def tp_at(cols: NDArray[np.intp]) -> IntArray:
        at: IntArray = np.where(cols >= 0, tp_cum[member_count[cols] - first, lane], 0)
        return at

    def fp_at(cols: NDArray[np.intp]) -> IntArray:
        at: IntArray = np.where(cols >= 0, fp_cum[nonmember_count[cols], lane], 0)
        return at

    clipped = np.maximum(columns, 0)
    tps = np.where(columns >= 0, tp_at(clipped), 0)
    fps = np.where(columns >= 0, fp_at(clipped), 0)
    before = (start - 1)[:, None]
    tp_before = np.where(start > 0, tp_at(np.maximum(before, 0))[:, 0], 0)
    fp_before = np.where(start > 0, fp_at(np.maximum(before, 0))[:, 0], 0)
    last = _last_kept(tps, fps, tp_before, fp_before, np.full(replicates, WINDOW))
    tp = np.where(last >= 0, np.take_along_axis(tps, np.maximum(last, 0)[:, None], 1)[:, 0], 0)
    tpr = _tpr(tp, total_tp, total_fp)
    plain = np.flatnonzero(valid & (late | ((last < 0) & (tp_before + fp_before > 0))))
    if plain.size:  # rare: the whole order, the plain way
        rows = np.ascontiguousarray(weights[:, plain][ranked.order].T)
        tpr[plain] = _tpr_rows(ranked, rows, threshold)
    return tpr


def _running(rows: NDArray[np.uint8], base: IntArray) -> IntArray:
    """(len(rows) + 1, replicates): `base`, then `base` plus the rows one by one. A loop over
    rows: numpy's cumsum down a C-ordered array's first axis is 6 times slower."""
    out = np.empty((rows.shape[0] + 1, base.size), np.int64)
    out[0] = base
    for i in range(rows.shape[0]):
        np.add(out[i], rows[i], out=out[i + 1])
    return out


@dataclass(frozen=True)
class Frame:
    """One scenario's common replicates on one split: the weights every submission of the
    track is scored under, and each replicate's member and non-member weight."""

    weights: NDArray[np.uint8]  # (points, replicates)
    totals: tuple[IntArray, IntArray]


@lru_cache(maxsize=12)
def _frame(seed: tuple[int, ...], labels: bytes, points_per_model: int, replicates: int) -> Frame:
    """The weights of a (track, split, scenario) seed, made once per process (10 MB for
    10,000 points): every submission of the track reads the same ones."""
    member = np.frombuffer(labels, dtype=np.float64) != 0
    if member.size % points_per_model:
        raise ValueError(
            f"{member.size} challenge points are not models of {points_per_model} points each"
        )
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    weights = cluster_weights(rng, member.size // points_per_model, points_per_model, replicates)
    weights.setflags(write=False)
    total_tp = weights[member].sum(axis=0, dtype=np.int64)
    total_fp = weights[~member].sum(axis=0, dtype=np.int64)
    return Frame(weights, (total_tp, total_fp))


def ranking_interval(
    predictions: Predictions,
    truth: GroundTruth,
    definition: Definition,
    split: str,
    *,
    seed: int | Sequence[int],
    replicates: int = REPLICATES,
    confidence: float = 0.95,
) -> Interval:
    """The cluster-bootstrap interval of a submission's ranking score on `split`, and its
    replicates: the same `seed` gives the same weights, so submissions of one track and split
    given one seed share their replicates (what rank intervals compare). Each replicate
    aggregates its scenarios as the track does (mean, max or min; a mean_rank track's score is
    the mean), over the scenarios the submission has (an optional one left out is skipped, as
    scoring skips it). ValueError when a required scenario's predictions or any scored
    scenario's labels are missing, or the points are not whole models."""
    track = definition.track(predictions.track)
    base = tuple(np.atleast_1d(np.asarray(seed, dtype=np.int64)).tolist())
    threshold = definition.ranking_threshold
    replicated, estimates = [], []
    for index, scenario in enumerate(track.scenarios):
        key = (scenario, split)
        if key not in predictions.values and scenario in track.optional:
            continue  # its weights stay unused: the others' replicates do not move
        if key not in predictions.values or not truth.has(scenario, split):
            raise ValueError(f"no {split} predictions or labels for {scenario}")
        labels, values = truth.labels[key], predictions.values[key]
        ones = np.ones((1, values.size), np.uint8)
        estimates.append(float(weighted_tpr_at_fpr(labels, values, ones, threshold)[0]))
        truth_bytes = np.ascontiguousarray(labels, dtype=np.float64).tobytes()
        frame = _frame((*base, index), truth_bytes, definition.points_per_model, replicates)
        ranked = rank(labels, values)
        replicated.append(tpr_of_weights(ranked, frame.weights, frame.totals, threshold))
    if not replicated:
        raise ValueError(f"no {split} predictions for any scenario of {track.name}")
    scores = _aggregated(np.array(replicated), track.ranking)
    statistic = scores[np.isfinite(scores)]
    if not statistic.size:
        raise ValueError(f"no replicate of {split} weighs both members and non-members")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(statistic, [tail, 100 - tail])
    return Interval(float(low), float(high), aggregate(estimates, track.ranking), scores)


def _aggregated(replicated: FloatArray, how: Aggregate) -> FloatArray:
    """Each replicate's scenarios (the rows' columns) aggregated as the track's ranking score
    is: max, min or mean (NaN stays NaN: the replicate is dropped)."""
    combine = {"max": np.max, "min": np.min}.get(how, np.mean)
    out: FloatArray = np.asarray(combine(replicated, axis=0), dtype=np.float64)
    return out
