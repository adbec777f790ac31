"""Reading ground truth from folders and zips in the official layout."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.scoring.problems import InvalidInput
from app.scoring.readers import read_truth


@pytest.fixture
def truth(demo: Path, tmp_path: Path) -> Path:
    """A private copy of the cifar10 demo ground truth, as a tree with a `ref/` folder above it."""
    shutil.copytree(demo / "truth" / "cifar10", tmp_path / "ref" / "cifar10")
    return tmp_path / "ref"


def _problems(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        read_truth(path)
    return [str(p) for p in caught.value.problems]


def test_folder_of_several_tracks_reads_every_split(demo: Path) -> None:
    """The demo tree holds two tracks and three splits; every model's labels come back in order."""
    gt = read_truth(demo / "truth")
    assert gt.tracks == ("cifar10", "ddp")
    labels = gt.labels["cifar10_lo", "final"]
    assert labels.shape == (50 * 200,)
    first = np.loadtxt(
        demo / "truth/cifar10/cifar10_lo/final/model_150/solution.csv", delimiter=","
    )
    assert np.array_equal(labels[:200], first)
    assert {split for _, split in gt.labels} == {"train", "dev", "final"}


def test_other_files_of_the_data_tree_are_ignored(truth: Path) -> None:
    """model.pt and seed files sit beside solution.csv in MICO's data tree: not a problem."""
    model = truth / "cifar10/cifar10_hi/dev/model_100"
    (model / "model.pt").write_bytes(b"\x80\x04weights")
    (model / "seed_challenge").write_text("123")
    assert read_truth(truth).has("cifar10_hi", "dev")


def test_zip_with_an_enclosing_folder_reads_like_the_folder(truth: Path, tmp_path: Path) -> None:
    """A zip of the `ref/` folder gives the same labels as the folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(truth.rglob("solution.csv")):
            zf.write(f, f.relative_to(truth.parent).as_posix())
    archive = tmp_path / "reference_data.zip"
    archive.write_bytes(buffer.getvalue())
    from_zip, from_folder = read_truth(archive), read_truth(truth)
    assert from_zip.labels.keys() == from_folder.labels.keys()
    assert all(np.array_equal(from_zip.labels[k], from_folder.labels[k]) for k in from_zip.labels)


def test_only_some_splits_is_fine(truth: Path) -> None:
    """Organizers may hold dev labels only (as CodaLab's dev reference data did)."""
    for split in ("train", "final"):
        for scenario in truth.glob("cifar10/*"):
            shutil.rmtree(scenario / split)
    assert {split for _, split in read_truth(truth).labels} == {"dev"}


def test_a_label_other_than_zero_or_one_is_named(truth: Path) -> None:
    """A 2 in a solution file is reported with the file's path and the value's position."""
    target = truth / "cifar10/cifar10_inf/dev/model_120/solution.csv"
    values = target.read_text().strip().split(",")
    values[4] = "2"
    target.write_text(",".join(values))
    assert _problems(truth) == [
        "cifar10/cifar10_inf/dev/model_120/solution.csv: "
        "value 5 is 2; a label is 0 (non-member) or 1 (member)"
    ]


def test_missing_models_are_listed(truth: Path) -> None:
    """A split with a model folder missing says which model."""
    shutil.rmtree(truth / "cifar10/cifar10_hi/final/model_163")
    assert _problems(truth) == ["cifar10/cifar10_hi/final/: 1 of 50 models missing: model_163"]


def test_a_split_with_one_class_cannot_be_scored(truth: Path) -> None:
    """All members in a split leaves FPR undefined: refused, naming the scenario and split."""
    for f in (truth / "cifar10/cifar10_lo/dev").rglob("solution.csv"):
        f.write_text(",".join(["1"] * 200))
    assert _problems(truth) == [
        "cifar10_lo/dev/: every label is 1; a split needs both members (1) and non-members (0) "
        "to be scored"
    ]


def test_odd_files_in_a_truth_folder_are_named_not_read(truth: Path) -> None:
    """A broken link, a pipe and a link to /dev/zero are refused without opening them."""
    odd = {
        "cifar10_hi/dev/model_100": "broken",
        "cifar10_hi/dev/model_101": "fifo",
        "cifar10_hi/dev/model_102": "zero",
    }
    for folder, kind in odd.items():
        target = truth / "cifar10" / folder / "solution.csv"
        target.unlink()
        if kind == "broken":
            target.symlink_to(truth / "nowhere.csv")
        elif kind == "fifo":
            os.mkfifo(target)
        else:
            target.symlink_to("/dev/zero")
    found = _problems(truth)
    for folder in odd:
        assert f"cifar10/{folder}/solution.csv: is not a regular file" in " ".join(found)


def test_a_path_that_is_not_there_is_a_problem(tmp_path: Path) -> None:
    """A mistyped --truth path is reported, not a traceback."""
    assert _problems(tmp_path / "nope") == [
        f"{tmp_path / 'nope'}: is neither a folder nor a zip file"
    ]
