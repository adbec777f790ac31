"""Time the bootstrap intervals of one full cifar10 submission (what the intervals job adds).

The cluster bootstrap's weights are common to a track and split, made once per process (the
"first submission" figure adds making them) and read by every submission after.

Per attack of the demo data: reading the zip again (as the job does) and the 95% interval of
the ranking score on dev and final (3 scenarios x 50 models x 200 challenge points each,
1,000 replicates), and the intervals themselves. With `--plain`, the same 1,000 replicates
with every one of the 10,000 Poisson weights per scenario drawn and used (the plain way), for
one split: what the quick draw saves.

Run: `python benchmarks/intervals.py [--repeat N] [--plain]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.scoring import bootstrap  # noqa: E402
from app.scoring.bootstrap import Interval, ranking_interval, weighted_tpr_at_fpr  # noqa: E402
from app.scoring.definition import MICO  # noqa: E402
from app.scoring.demo import ATTACKS, submission_zip, write_truth  # noqa: E402
from app.scoring.readers import GroundTruth, Predictions, read_submission, read_truth  # noqa: E402

TRACK = MICO.track("cifar10")


def timed(
    fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Milliseconds of each of `repeat` calls (after one warm-up call): wall-clock, or this
    process's CPU time with `time.process_time` (less disturbed by other work on the machine)."""
    fn()
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append((clock() - start) * 1000)
    return times


def both_splits(predictions: Predictions, truth: GroundTruth, seed: int) -> list[object]:
    """What the job computes for one submission."""
    return [
        ranking_interval(predictions, truth, MICO, split, seed=(seed, i))
        for i, split in enumerate(("dev", "final"))
    ]


def plain(predictions: Predictions, truth: GroundTruth) -> None:
    """1,000 replicates of dev, every Poisson weight drawn (in batches of 50)."""
    rng = np.random.default_rng(0)
    for scenario in TRACK.scenarios:
        labels = truth.labels[scenario, "dev"]
        values = predictions.values[scenario, "dev"]
        for _ in range(20):
            weights = rng.poisson(1.0, (50, values.size))
            weighted_tpr_at_fpr(labels, values, weights, MICO.ranking_threshold)


def _shown(interval: object) -> str:
    assert isinstance(interval, Interval)
    return f"{interval.estimate:.4f} [{interval.low:.4f}, {interval.high:.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--plain", action="store_true", help="time the plain way too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_truth(Path(tmp), [TRACK], seed=0, definition=MICO)
        truth = read_truth(Path(tmp))
    print(
        "one cifar10 submission, dev and final: 3 scenarios x 50 models x 200 points, "
        f"1,000 replicates; median of {args.repeat} runs"
    )
    for attack in ATTACKS:
        _one(attack, truth, args.repeat, args.plain)


def _one(attack: str, truth: GroundTruth, repeat: int, with_plain: bool) -> None:
    """Time and print one attack's submission."""
    data = submission_zip(TRACK, attack)
    predictions = read_submission(data, track="cifar10")
    read_ms = statistics.median(timed(lambda: read_submission(data, track="cifar10"), 5))
    start = time.process_time()
    bootstrap._frame.cache_clear()
    both_splits(predictions, truth, 1)
    first_ms = (time.process_time() - start) * 1000
    runs = timed(lambda: both_splits(predictions, truth, 1), repeat)
    cpu = timed(lambda: both_splits(predictions, truth, 1), repeat, time.process_time)
    dev, final = both_splits(predictions, truth, 1)
    print(
        f"  {attack:7s} intervals: wall {statistics.median(runs):6.1f} ms (min {min(runs):6.1f}), "
        f"CPU {statistics.median(cpu):6.1f} ms (min {min(cpu):6.1f}); reading the zip "
        f"{read_ms:5.1f} ms; first submission (weights made) CPU {first_ms:6.1f} ms"
        f"\n          dev {_shown(dev)}, final {_shown(final)}"
    )
    if with_plain:
        plain_ms = statistics.median(timed(lambda: plain(predictions, truth), 2))
        print(f"          plain way, dev alone: {plain_ms:7.1f} ms")


if __name__ == "__main__":
    main()
