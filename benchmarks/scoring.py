"""Time one full cifar10 submission, zip bytes to every metric of dev and final.

Ours: `read_submission` on the zip's bytes (inflate, check, parse) then `score_split` for dev
and final. The official way, on the same input: `np.loadtxt` of every prediction.csv and
solution.csv of the split, then scikit-learn's `roc_curve`/`roc_auc_score` as the official
program calls them. Ground truth is already in memory for ours (the server loads it once);
the official way reads it from disk each time, as it does. Extracting the zip for the official
way is not timed (CodaLab extracts before the program starts).

Run: `python benchmarks/scoring.py [--repeat N] [--ours-only]`. `--ours-only` skips the
official way (nine tenths of a run's time), so that two versions of the code can be run in
turn many times within the same load (old, new, new, old...) and compared by their medians.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.scoring.definition import MICO  # noqa: E402
from app.scoring.demo import submission_zip, write_truth  # noqa: E402
from app.scoring.readers import GroundTruth, read_submission, read_truth  # noqa: E402
from app.scoring.scorer import score_split  # noqa: E402
from tests.official import official_scores_txt  # noqa: E402

TRACK = MICO.track("cifar10")


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock milliseconds of each of `repeat` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--ours-only", action="store_true", help="skip the official way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_truth(root / "ref", [TRACK], seed=0, definition=MICO)
        truth = read_truth(root / "ref")
        print(
            f"one cifar10 submission: 3 scenarios x (dev + final) x 50 models x 200 values, "
            f"median of {args.repeat} runs"
        )
        for label, float64, compression in (
            ("starting kit (float32 text, stored)", False, zipfile.ZIP_STORED),
            ("17-digit floats, stored", True, zipfile.ZIP_STORED),
            ("17-digit floats, deflated", True, zipfile.ZIP_DEFLATED),
        ):
            data = submission_zip(TRACK, "strong", float32=not float64, compression=compression)
            res = root / "res" / label.replace(" ", "_")
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                zf.extractall(res)

            def ours(data: bytes = data) -> None:
                predictions = read_submission(data, track="cifar10")
                for split in ("dev", "final"):
                    score_split(predictions, truth, MICO, split)

            def official(res: Path = res) -> None:
                for split in ("dev", "final"):
                    official_scores_txt(root / "ref" / "cifar10", res / "cifar10", split)

            ours_ms = statistics.median(timed(ours, args.repeat))
            print(f"\n{label}: zip {len(data) / 1e6:.2f} MB")
            print(f"  mia-arena reader + scorer : {ours_ms:8.2f} ms")
            if args.ours_only:
                continue
            official_ms = statistics.median(timed(official, max(5, args.repeat // 5)))
            print(f"  official way              : {official_ms:8.2f} ms")
            print(f"  ratio                     : {official_ms / ours_ms:8.1f}x faster")
        _breakdown(submission_zip(TRACK, "strong"), truth, args.repeat)


def _breakdown(data: bytes, truth: GroundTruth, repeat: int) -> None:
    """Where our time goes, for the starting-kit zip."""
    predictions = read_submission(data, track="cifar10")
    read_ms = statistics.median(timed(lambda: read_submission(data, track="cifar10"), repeat))
    score_ms = statistics.median(
        timed(lambda: [score_split(predictions, truth, MICO, s) for s in ("dev", "final")], repeat)
    )
    print(
        f"\nbreakdown (starting kit zip): read + validate {read_ms:.2f} ms, "
        f"score dev + final {score_ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
