"""What the official program never reads is ignored with a warning; what is ambiguous is not.

The official program reads, for each model of the reference split, that model's
`prediction.csv`, and nothing else: a `train/` split, a README or a model outside the split's
ids change none of its scores, so they change none of ours (compared with the official way on
the same extracted files) and come back as warnings, apart from problems.
"""

from __future__ import annotations

import io
import shutil
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from app.scoring.archive import Limits, ZipReader
from app.scoring.definition import MICO
from app.scoring.problems import InvalidInput, Problem
from app.scoring.readers import read_submission, read_truth
from app.scoring.scorer import score_split
from tests.official import official_scores_txt
from tests.scoring.test_zip_corpus import (
    MB,
    TARGET,
    Files,
    append,
    assert_reported,
    assert_same_as_kit,
    bomb,
    dropping,
    entry,
    kit,
    kit_zip,
    line,
    problems,
    zip_of,
)

DEV_100 = "cifar10/cifar10_hi/dev/model_100/"
TRAIN = {
    f"cifar10/{s}/train/model_{i}/prediction.csv": line() for s in ("cifar10_hi",) for i in (0, 7)
}
# (extra files, the warnings they give, as str(Problem))
IGNORED: dict[str, tuple[Files, list[str]]] = {
    "complete-train": ({}, ["train/ is not scored: ignored (300 files)"]),
    "partial-train": (TRAIN, ["train/ is not scored: ignored (2 files)"]),
    "readme-at-top": (
        {"README": b"LiRA", "README.md": b"# LiRA"},
        [
            "README: is not a prediction file: ignored",
            "README.md: is not a prediction file: ignored",
        ],
    ),
    "notes-in-a-model-folder": (
        {f"{DEV_100}notes.txt": b"lr=0.1", f"{DEV_100}.gitkeep": b""},
        [
            f"{DEV_100}notes.txt: is not a prediction file: ignored",
            f"{DEV_100}.gitkeep: is not a prediction file: ignored",
        ],
    ),
    "code-and-plots-named-for-models": (
        {"attack/model.py": b"import torch", "roc_scores.png": b"\x89PNG"},
        [
            "attack/model.py: is not a prediction file: ignored",
            "roc_scores.png: is not a prediction file: ignored",
        ],
    ),
    "model-999": (
        {"cifar10/cifar10_hi/dev/model_999/prediction.csv": line()},
        [
            "cifar10/cifar10_hi/dev/model_999/: model_999 is not a model of the dev split "
            "(model_100 to model_149): ignored"
        ],
    ),
    "final-model-in-dev": (
        {"cifar10/cifar10_lo/dev/model_163/prediction.csv": line(n=3)},  # never read
        [
            "cifar10/cifar10_lo/dev/model_163/: model_163 is not a model of the dev split "
            "(model_100 to model_149): ignored"
        ],
    ),
}


def _with(extra: Files, name: str) -> Files:
    files = {**kit(), **extra}
    return {**files, **kit(("train",))} if name == "complete-train" else files


@pytest.mark.parametrize(("extra", "expected"), IGNORED.values(), ids=IGNORED)
def test_what_the_official_program_never_reads_is_ignored_with_a_warning(
    extra: Files, expected: list[str], request: pytest.FixtureRequest
) -> None:
    """The zip reads to the starting kit's arrays; each ignored thing is one warning."""
    name = request.node.callspec.id
    got = read_submission(zip_of(_with(extra, name), zipfile.ZIP_DEFLATED))
    assert_same_as_kit(got)
    assert got.files == 300
    assert [str(w) for w in got.warnings] == expected


def test_scores_with_ignored_files_equal_the_official_programs(demo: Path, tmp_path: Path) -> None:
    """Every ignored kind at once: our dev and final scores equal the official way's, which
    reads the same extracted folder (README, train/, model_999 and notes left in it)."""
    with zipfile.ZipFile(demo / "submissions" / "cifar10-strong.zip") as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    for extra, _ in IGNORED.values():
        files.update(extra)
    # A train split too: the dev files again, under train ids.
    for name, content in list(files.items()):
        if "/dev/model_" in name:
            i = int(name.split("/model_")[1].split("/")[0])
            files[name.replace(f"/dev/model_{i}/", f"/train/model_{i - 100}/")] = content
    data = zip_of(files, zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(tmp_path / "res")
    predictions = read_submission(data)
    assert predictions.warnings
    truth = read_truth(demo / "truth")
    for split in ("dev", "final"):
        ours = score_split(predictions, truth, MICO, split)
        expected = official_scores_txt(
            demo / "truth" / "cifar10", tmp_path / "res" / "cifar10", split
        )
        assert abs(ours.ranking_score - expected["average_TPR_FPR_1000"]) <= 1e-9
        for i, scenario in enumerate(ours.scenarios.values(), start=1):
            for key, value in scenario.metrics.items():
                assert abs(value - expected[f"scenario{i}_{key}"]) <= 1e-9, (split, key)


AMBIGUOUS: dict[str, tuple[Files, str]] = {
    "decoy-copy-in-a-model-folder": (
        {f"{DEV_100}prediction_old.csv": line()},
        f"{DEV_100}prediction_old.csv: unexpected file",
    ),
    "decoy-copy-renamed": (
        {f"{DEV_100}prediction.csv.bak": line()},
        f"{DEV_100}prediction.csv.bak: unexpected file",
    ),
    "data-file-at-top": ({"scores.npy": b"\x93NUMPY"}, "scores.npy: unexpected file"),
    "text-named-for-predictions": (
        {"predictions.txt": line()},
        "predictions.txt: unexpected file",
    ),
    "a-second-copy-of-the-tree": (
        {f"old/{TARGET}": line()},
        "submission.zip: files sit under different folders",
    ),
    "another-tracks-train-files": (
        {"purchase100/purchase100_hi/train/model_0/prediction.csv": line()},
        "purchase100/purchase100_hi/: is a scenario of track purchase100, not of cifar10",
    ),
}


@pytest.mark.parametrize(("extra", "expected"), AMBIGUOUS.values(), ids=AMBIGUOUS)
def test_what_could_be_predictions_is_still_refused(extra: Files, expected: str) -> None:
    """A file that may hold predictions, a second tree or another track's files: refused."""
    assert_reported(problems(zip_of({**kit(), **extra}), track="cifar10"), expected)


def test_two_tracks_are_refused_even_when_one_is_only_train() -> None:
    """Without --track, another track's train files still make two tracks in one zip."""
    extra = {"purchase100/purchase100_hi/train/model_0/prediction.csv": line()}
    found = problems(zip_of({**kit(), **extra}))
    assert_reported(found, "submission.zip: holds scenarios of several tracks")


def test_a_split_asked_for_must_be_complete() -> None:
    """Asked for (score --split train), a partial train split is a problem, not a warning."""
    found = problems(zip_of({**kit(), **TRAIN}), splits=("dev", "final", "train"))
    assert_reported(found, "cifar10/cifar10_hi/train/: 98 of 100 models missing")
    assert_reported(found, "cifar10/cifar10_inf/train/: split missing")


def test_only_the_splits_asked_for_are_read() -> None:
    """Scoring dev alone, a broken final split is ignored (the official program reads dev)."""
    files = {**kit(), TARGET: b"nonsense"}
    got = read_submission(zip_of(files), splits=("dev",))
    assert got.splits == ["dev"]
    assert [str(w) for w in got.warnings] == ["final/ is not scored: ignored (150 files)"]


def test_a_refused_zip_still_says_what_it_ignored() -> None:
    """Warnings travel with the problems of a refused zip, apart from them."""
    files = {**dropping(TARGET)(kit()), "README.md": b"hello"}
    with pytest.raises(InvalidInput) as caught:
        read_submission(zip_of(files))
    assert_reported([str(p) for p in caught.value.problems], "cifar10/cifar10_lo/final/: 1 of 50")
    assert [str(w) for w in caught.value.warnings] == [
        "README.md: is not a prediction file: ignored"
    ]


def test_many_ignored_files_are_summarised() -> None:
    """Thirty READMEs: five named, the rest counted in one warning."""
    extra = {f"docs/page{i}.md": b"text" for i in range(30)}
    got = read_submission(zip_of({**kit(), **extra}))
    said = [str(w) for w in got.warnings]
    assert len(said) == 6, said
    assert said[-1] == "submission.zip: 25 more files: is not a prediction file: ignored"


@pytest.mark.parametrize(
    ("info", "content"),
    [
        pytest.param(entry("NOTES", compression=zipfile.ZIP_BZIP2), b"x" * 100, id="bzip2"),
        pytest.param(entry("README.md", flags=0x1), b"secret", id="encrypted"),
        pytest.param(entry("LICENSE", 0o120777), b"/etc/passwd", id="symlink"),
    ],
)
def test_ignored_entries_are_never_read(info: zipfile.ZipInfo, content: bytes) -> None:
    """An entry that would be refused if read (bzip2, encrypted, a link) is only counted."""
    got = read_submission(append(kit_zip(), info, content))
    assert_same_as_kit(got)
    assert [str(w) for w in got.warnings] == [f"{info.filename}: is not a prediction file: ignored"]


def lying_notes(megabytes: int) -> bytes:
    """The kit plus `notes.txt`: `megabytes` MB of zeros whose headers claim 4000 bytes."""
    buffer = io.BytesIO(kit_zip())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("notes.txt", "w") as member:
            for _ in range(megabytes):
                member.write(bytes(MB))
    data = bytearray(buffer.getvalue())
    local, central = data.rfind(b"PK\x03\x04"), data.rfind(b"PK\x01\x02")
    assert data[local + 30 : local + 39] == b"notes.txt"
    struct.pack_into("<I", data, local + 22, 4000)
    struct.pack_into("<I", data, central + 24, 4000)
    return bytes(data)


def test_an_ignored_lying_bomb_is_not_inflated() -> None:
    """notes.txt claiming 4000 bytes but inflating to 64 MB is ignored, never inflated."""
    data = lying_notes(64)
    tracemalloc.start()
    try:
        got = read_submission(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_same_as_kit(got)
    assert [str(w) for w in got.warnings] == ["notes.txt: is not a prediction file: ignored"]
    assert peak < 16 * MB


def test_an_ignored_entry_still_counts_towards_the_declared_total() -> None:
    """A file of notes declaring 100 MB is refused as a bomb by the declared total."""
    data = bomb(100, lie=False, base=dropping(TARGET)(kit()))
    data = data.replace(TARGET.encode(), b"x" * len(TARGET))  # a harmless name, same length
    assert_reported(problems(data), "submission.zip: would inflate to 100.")
    assert_reported(problems(data), "submission.zip: over the limit of 64.0 MB (a zip bomb?)")


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The entries the reader opens from now on (its speed on ignored ones is that it opens
    none of them; benchmarks/scoring.py measures the time)."""
    opened: list[str] = []
    read = ZipReader.read

    def counting(self: ZipReader, path: str, info: zipfile.ZipInfo) -> bytes | Problem:
        opened.append(path)
        return read(self, path, info)

    monkeypatch.setattr(ZipReader, "read", counting)
    return opened


def test_thousands_of_ignored_entries_are_counted_not_opened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """4,600 ignored entries beside the kit (5,000 entries at most): none is opened, and one
    summarised warning says so."""
    data = zip_of({**kit(), **{f"doc/{i}.md": b"" for i in range(4_600)}})
    assert len(data) < 2 * MB
    opened = _opened(monkeypatch)
    got = read_submission(data)
    assert len(opened) == 300  # the kit's prediction files, every one of them
    assert not [path for path in opened if path.startswith("doc/")]
    assert_same_as_kit(got)
    assert (
        str(got.warnings[-1])
        == "submission.zip: 4595 more files: is not a prediction file: ignored"
    )


def test_a_hundred_thousand_ignored_entries_are_refused_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """100,000 empty README-like entries: refused by size at the default limits, and by their
    count with a size limit large enough to let them in, without opening any."""
    data = zip_of({f"d/{i}": b"" for i in range(100_000)})
    opened = _opened(monkeypatch)
    for limits, said in [
        (None, "over the limit of 2.0 MB"),
        (Limits(max_zip_bytes=64 * MB), "holds 100000 entries, over the limit of 5000"),
    ]:
        found = problems(data, limits=limits)
        assert_reported(found, f"submission.zip: {said}")
    assert opened == []


def test_the_truth_reader_stays_strict(demo: Path, tmp_path: Path) -> None:
    """Ground truth is the organizers': a model outside its split is a problem there."""
    shutil.copytree(demo / "truth" / "cifar10", tmp_path / "cifar10")
    extra = tmp_path / "cifar10/cifar10_hi/dev/model_999"
    extra.mkdir()
    (extra / "solution.csv").write_bytes(line(n=200).replace(b"0.5", b"1"))
    with pytest.raises(InvalidInput) as caught:
        read_truth(tmp_path)
    assert_reported(
        [str(p) for p in caught.value.problems],
        "cifar10/cifar10_hi/dev/model_999/solution.csv: model_999 is not a model of the dev split",
    )
