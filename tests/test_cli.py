"""The `mia-arena` command end to end, run as a participant or organizer runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.scoring.definition import MICO
from app.scoring.demo import submission_zip
from app.scoring.readers import read_submission, read_truth
from app.scoring.scorer import score_split
from tests.official import official_scores_txt

CLI = str(Path(sys.executable).with_name("mia-arena"))


def run(*args: object) -> subprocess.CompletedProcess[str]:
    """Run the installed console script and capture what it prints."""
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


def _codalab(stdout: str) -> dict[str, float]:
    pairs = (line.split(": ") for line in stdout.splitlines())
    return {key: float(value) for key, value in pairs}


@pytest.mark.parametrize("track", ["cifar10", "ddp"])
@pytest.mark.parametrize("attack", ["strong", "weak", "random"])
@pytest.mark.parametrize("split", ["dev", "final"])
def test_codalab_output_matches_the_official_program(
    demo: Path, tmp_path: Path, track: str, attack: str, split: str
) -> None:
    """Every key of scores.txt agrees with the official way on the same files, to 1e-9."""
    submission = demo / "submissions" / f"{track}-{attack}.zip"
    result = run(
        "score", submission, "--truth", demo / "truth", "--split", split, "--format", "codalab"
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(submission) as zf:
        zf.extractall(tmp_path / "res")
    expected = official_scores_txt(demo / "truth" / track, tmp_path / "res" / track, split)
    ours = _codalab(result.stdout)
    assert ours.keys() == expected.keys()
    for key, value in expected.items():
        assert abs(ours[key] - value) <= 1e-9, key


def test_codalab_lines_are_in_the_official_order_with_full_precision(demo: Path) -> None:
    """Per scenario AUC, MIA, accuracy then the six TPRs; the average last; repr precision."""
    result = run(
        "score",
        demo / "submissions/cifar10-medium.zip",
        "--truth",
        demo / "truth",
        "--format",
        "codalab",
    )
    keys = [line.split(": ")[0] for line in result.stdout.splitlines()]
    per_scenario = ["AUC", "MIA", "accuracy"] + [
        f"TPR_FPR_{k}" for k in (10, 100, 500, 1000, 1500, 2000)
    ]
    assert keys == [f"scenario{i}_{k}" for i in (1, 2, 3) for k in per_scenario] + [
        "average_TPR_FPR_1000"
    ]
    # Full precision: every printed value reads back as exactly the float the scorer computed.
    predictions = read_submission((demo / "submissions/cifar10-medium.zip").read_bytes())
    scores = score_split(predictions, read_truth(demo / "truth"), MICO, "dev")
    computed = [s.metrics[k] for s in scores.scenarios.values() for k in per_scenario]
    printed = [float(line.split(": ")[1]) for line in result.stdout.splitlines()]
    assert printed == [*computed, scores.ranking_score]


def test_json_and_table_formats(demo: Path) -> None:
    """json carries the ranking score and per-scenario metrics; table names every scenario."""
    args = ("score", demo / "submissions/cifar10-strong.zip", "--truth", demo / "truth")
    data = json.loads(run(*args, "--format", "json").stdout)
    assert data["track"] == "cifar10" and data["split"] == "dev"
    assert set(data["scenarios"]) == set(MICO.track("cifar10").scenarios)
    assert 0.5 < data["ranking_score"] <= 1
    table = run(*args).stdout
    assert all(s in table for s in MICO.track("cifar10").scenarios)
    assert f"{data['ranking_score']:.4f}" in table


def test_truth_as_a_zip_and_the_train_split(demo: Path, tmp_path: Path) -> None:
    """A zip of the truth works as the folder does; a train-only zip scores on --split train."""
    truth_zip = tmp_path / "truth.zip"
    with zipfile.ZipFile(truth_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((demo / "truth").rglob("solution.csv")):
            zf.write(f, f.relative_to(demo / "truth").as_posix())
    submission = tmp_path / "train-only.zip"
    submission.write_bytes(
        submission_zip(MICO.track("cifar10"), "medium", seed=3, splits=("train",))
    )
    result = run("score", submission, "--truth", truth_zip, "--split", "train", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["split"] == "train"
    # The server's rule is still what validate checks: dev and final are required.
    result = run("validate", submission)
    assert result.returncode == 1 and "cifar10/cifar10_hi/dev/: split missing" in result.stderr
    result = run("score", submission, "--truth", truth_zip)
    assert result.returncode == 1 and "cifar10/cifar10_hi/dev/: split missing" in result.stderr


def test_validate_accepts_a_good_zip(demo: Path) -> None:
    """Exit 0 and a one-line summary of what the zip holds."""
    result = run("validate", demo / "submissions/cifar10-weak.zip", "--track", "cifar10")
    assert result.returncode == 0
    assert "valid cifar10 submission, 300 prediction files, splits dev, final" in result.stdout


def test_validate_lists_every_problem_and_exits_1(demo: Path, tmp_path: Path) -> None:
    """A zip with two faults prints both, each naming its file."""
    bad = tmp_path / "bad.zip"
    with (
        zipfile.ZipFile(demo / "submissions/cifar10-weak.zip") as src,
        zipfile.ZipFile(bad, "w") as dst,
    ):
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "cifar10/cifar10_hi/final/model_163/prediction.csv":
                data = data.rsplit(b",", 1)[0]
            if item.filename == "cifar10/cifar10_hi/dev/model_101/prediction.csv":
                continue
            dst.writestr(item, data)
    result = run("validate", bad, "--track", "cifar10")
    assert result.returncode == 1
    assert "2 problems" in result.stderr
    assert "cifar10/cifar10_hi/final/model_163/prediction.csv: 199 values, expected 200" in (
        result.stderr
    )
    assert "cifar10/cifar10_hi/dev/: 1 of 50 models missing: model_101" in result.stderr


def test_wrong_track_and_missing_split_are_clear(demo: Path, tmp_path: Path) -> None:
    """An unknown --track is a usage error; truth without final labels says so."""
    result = run("validate", demo / "submissions/cifar10-weak.zip", "--track", "cifar100")
    assert result.returncode == 2 and "'cifar100' is not a track" in result.stderr
    dev_only = tmp_path / "dev-only.zip"
    with zipfile.ZipFile(dev_only, "w") as zf:
        for f in sorted((demo / "truth/cifar10").rglob("dev/*/solution.csv")):
            zf.write(f, f.relative_to(demo / "truth").as_posix())
    result = run(
        "score", demo / "submissions/cifar10-weak.zip", "--truth", dev_only, "--split", "final"
    )
    assert result.returncode == 1
    assert "the ground truth has no final labels for cifar10_hi" in result.stderr


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    """Same seed, same bytes; another seed, other predictions."""
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert run("demo-data", tmp_path / name, "--track", "sst2", "--seed", seed).returncode == 0
    zip_a, zip_b, zip_c = (
        (tmp_path / n / "submissions/sst2-strong.zip").read_bytes() for n in "abc"
    )
    assert zip_a == zip_b != zip_c
    assert run("validate", tmp_path / "a/submissions/sst2-strong.zip").returncode == 0


def test_a_huge_file_is_refused_without_being_read(tmp_path: Path) -> None:
    """A 5 GB (sparse) file is refused at once by its size, as the server would refuse it."""
    huge = tmp_path / "huge.zip"
    with huge.open("wb") as f:
        f.truncate(5 * 1024**3)
    result = run("validate", huge)
    assert result.returncode == 1
    assert "huge.zip: is 5120.0 MB, over the limit of 2.0 MB" in result.stderr


def test_validate_prints_warnings_apart_and_exits_0(demo: Path, tmp_path: Path) -> None:
    """What is ignored (train/, a README) is listed under "warnings"; the zip stays valid."""
    noted = tmp_path / "noted.zip"
    with (
        zipfile.ZipFile(demo / "submissions/cifar10-weak.zip") as src,
        zipfile.ZipFile(noted, "w") as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("README.md", "# LiRA, 16 shadow models")
        dst.writestr("cifar10/cifar10_hi/train/model_0/prediction.csv", "0.5\n" * 200)
    result = run("validate", noted, "--track", "cifar10")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{noted}: valid cifar10 submission, 300 prediction files, splits dev, final",
        "warnings (2):",
        "  README.md: is not a prediction file: ignored",
        "  train/ is not scored: ignored (1 file)",
    ]


def test_a_refused_zip_lists_its_warnings_after_its_problems(demo: Path, tmp_path: Path) -> None:
    """Problems first (exit 1), then what was ignored, under its own heading."""
    bad = tmp_path / "bad.zip"
    with (
        zipfile.ZipFile(demo / "submissions/cifar10-weak.zip") as src,
        zipfile.ZipFile(bad, "w") as dst,
    ):
        for item in src.infolist()[1:]:
            dst.writestr(item, src.read(item))
        dst.writestr("notes.txt", "lr=0.1")
    result = run("validate", bad, "--track", "cifar10")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"{bad} is not a valid submission: 1 problem"
    assert lines[2:] == ["warnings (1):", "  notes.txt: is not a prediction file: ignored"]
