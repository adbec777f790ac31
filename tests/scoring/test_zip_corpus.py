"""A corpus of submission zips: what participants upload, what is accepted, what they are told."""

from __future__ import annotations

import functools
import io
import os
import shutil
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _pytest.mark import ParameterSet

from app.scoring.definition import MICO
from app.scoring.demo import csv_line, submission_zip
from app.scoring.parsing import BOM
from app.scoring.problems import InvalidInput
from app.scoring.readers import Predictions, read_submission

Files = dict[str, bytes]
Mutation = Callable[[Files], Files]

CIFAR = MICO.track("cifar10")
TARGET = "cifar10/cifar10_lo/final/model_163/prediction.csv"
ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


@functools.cache
def kit_zip(splits: tuple[str, ...] = ("dev", "final")) -> bytes:
    """The starting-kit zip of the medium attack on cifar10 (stored, 300 files for dev+final)."""
    return submission_zip(CIFAR, "medium", splits=splits)


@functools.cache
def baseline() -> Predictions:
    """The plain starting-kit zip, read once: every accepted variant must give these arrays."""
    return read_submission(kit_zip())


def kit(splits: tuple[str, ...] = ("dev", "final")) -> Files:
    """A fresh {path: bytes} copy of the starting-kit submission, for one test to mutate."""
    with zipfile.ZipFile(io.BytesIO(kit_zip(splits))) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def zip_of(files: Files, compression: int = zipfile.ZIP_STORED) -> bytes:
    """The files zipped in order by zipfile (a name ending in `/` is a directory entry)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def entry(
    name: str, mode: int = 0o100644, compression: int = zipfile.ZIP_STORED, flags: int = 0
) -> zipfile.ZipInfo:
    """A zip entry with Unix mode bits, a compression method and general-purpose flags."""
    info = zipfile.ZipInfo(name, date_time=(2023, 1, 13, 12, 0, 0))
    info.external_attr, info.compress_type, info.flag_bits = mode << 16, compression, flags
    return info


def append(data: bytes, info: zipfile.ZipInfo, content: bytes) -> bytes:
    """`data` with one more entry, its flags kept in the central directory."""
    buffer, flags = io.BytesIO(data), info.flag_bits
    with zipfile.ZipFile(buffer, "a") as zf:
        zf.writestr(info, content)
        info.flag_bits |= flags  # zipfile clears them when it writes the local header
    return buffer.getvalue()


def line(*first: object, n: int = 200) -> bytes:
    """A prediction file of `n` values: `first`, then 0.5s."""
    return csv_line([*first, *[0.5] * (n - len(first))])


def problems(data: bytes, **options: Any) -> list[str]:
    """What read_submission tells the participant; anything but InvalidInput fails the test."""
    with pytest.raises(InvalidInput) as caught:
        read_submission(data, **options)
    assert caught.value.problems
    return [str(p) for p in caught.value.problems]


def assert_reported(found: list[str], expected: str) -> None:
    """Some problem names the path before `: ` in `expected` and holds the words after it."""
    path, words = expected.split(": ", 1)
    assert any(p.startswith(f"{path}: ") and words in p for p in found), found


def assert_same_as_kit(got: Predictions, extra: frozenset[tuple[str, str]] = frozenset()) -> None:
    """`got` holds the plain starting-kit arrays (plus the `extra` scenario splits)."""
    base = baseline()
    assert got.track == "cifar10"
    assert set(got.values) == set(base.values) | extra
    for key, values in base.values.items():
        assert np.array_equal(got.values[key], values), key


def renaming(change: Callable[[str], str]) -> Mutation:
    return lambda files: {change(name): content for name, content in files.items()}


def rewriting(change: Callable[[bytes], bytes]) -> Mutation:
    return lambda files: {name: change(content) for name, content in files.items()}


def relaying(join: Callable[[list[bytes]], bytes]) -> Mutation:
    """Every file's values, as the kit wrote them, laid out again by `join`."""
    return rewriting(lambda content: join(content.strip().split(b",")))


def adding(extra: Files) -> Mutation:
    return lambda files: {**files, **extra}


def dropping(*parts: str) -> Mutation:
    return lambda files: {n: c for n, c in files.items() if not any(p in n for p in parts)}


def with_folders(files: Files) -> Files:
    """A directory entry for every folder, before the files, as `zip -r` and file managers add."""
    folders = {name[: i + 1] for name in files for i, ch in enumerate(name) if ch == "/"}
    return {**dict.fromkeys(sorted(folders), b""), **files}


def test_starting_kit_zip_is_read_in_model_order() -> None:
    """The starting-kit zip gives 300 files: per scenario and split, 50 models x 200 values."""
    got = baseline()
    assert (got.track, got.files, got.splits) == ("cifar10", 300, ["dev", "final"])
    assert {v.shape for v in got.values.values()} == {(50 * 200,)}
    own = np.array(kit()[TARGET].decode().split(","), dtype=np.float64)
    assert np.array_equal(got.values["cifar10_lo", "final"][13 * 200 : 14 * 200], own)


MAC_LITTER = {
    "__MACOSX/cifar10/cifar10_lo/final/model_163/._prediction.csv": b"\x00\x05\x16\x07",
    "cifar10/cifar10_hi/dev/model_100/._prediction.csv": b"\x00\x05\x16\x07",
    ".DS_Store": b"\x00\x00\x00\x01Bud1",
    "cifar10/cifar10_inf/.DS_Store": b"\x00\x00\x00\x01Bud1",
}


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"]
)
@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda files: files, id="starting-kit"),
        pytest.param(renaming(lambda n: "my_submission/" + n), id="one-enclosing-folder"),
        pytest.param(renaming(lambda n: "home/alice/" + n), id="two-enclosing-folders"),
        pytest.param(renaming(lambda n: "données/" + n), id="utf8-folder-name"),
        pytest.param(renaming(lambda n: n.removeprefix("cifar10/")), id="no-track-folder"),
        pytest.param(adding(MAC_LITTER), id="macos-litter"),
        pytest.param(with_folders, id="directory-entries"),
        pytest.param(rewriting(lambda c: c.replace(b"\r\n", b"\n")), id="lf"),
        pytest.param(rewriting(lambda c: c.strip()), id="no-line-end"),
        pytest.param(rewriting(lambda c: BOM + c), id="utf8-bom"),
        pytest.param(relaying(lambda t: b"  " + b" , ".join(t) + b" \t\r\n"), id="spaces"),
        pytest.param(relaying(lambda t: b"\n".join(t) + b"\n"), id="one-per-line"),
        pytest.param(relaying(lambda t: b"\r\n".join(t) + b"\r\n\r\n"), id="one-per-line-crlf"),
        pytest.param(relaying(lambda t: b",".join(b"%.17e" % float(v) for v in t)), id="5.0e-01"),
        pytest.param(relaying(lambda t: b",".join(v.replace(b"0.", b".", 1) for v in t)), id=".5"),
        pytest.param(renaming(lambda n: n.replace("/final/", "/test/")), id="test-for-final"),
        pytest.param(renaming(lambda n: n.replace("/", "\\")), id="backslashes"),
        pytest.param(renaming(lambda n: n.replace("prediction", "Prediction")), id="name-case"),
    ],
)
def test_harmless_variant_gives_starting_kit_arrays(mutate: Mutation, compression: int) -> None:
    """A harmless variant of the starting-kit zip, stored or deflated, reads to the same arrays."""
    assert_same_as_kit(read_submission(zip_of(mutate(kit()), compression)))


def test_required_splits_go_by_their_aliases_and_unknown_tracks_are_problems() -> None:
    """Asking for `test` requires final; an unknown track is a problem, not a KeyError."""
    data = zip_of(dropping("/final/")(kit()))
    assert_reported(problems(data, splits=("TEST",)), "cifar10/cifar10_hi/final/: split missing")
    assert_reported(problems(data, track="cifar100"), "submission.zip: 'cifar100' is not a track")


def test_train_split_is_read_when_asked_for() -> None:
    """The train split, asked for (`mia-arena score --split train`), is read with the others."""
    data = zip_of({**kit(), **kit(("train",))}, zipfile.ZIP_DEFLATED)
    got = read_submission(data, splits=("dev", "final", "train"))
    assert_same_as_kit(got, frozenset((s, "train") for s in CIFAR.scenarios))
    assert got.files == 600 and got.values["cifar10_hi", "train"].shape == (100 * 200,)
    assert got.warnings == ()


ARCHIVERS = {"zip": ["zip", "-r", "-q"], "7z": ["7z", "a", "-tzip", "-bd", "-bso0"]}
PASSWORD = {"zip": ["-P", "secret"], "7z": ["-psecret"]}


def tool(name: str) -> ParameterSet:
    """A test parameter for an archiver; skipped where it is missing, except in CI."""
    missing = shutil.which(name) is None and not os.environ.get("CI")
    return pytest.param(name, marks=pytest.mark.skipif(missing, reason=f"no {name} here"))


def archive_with(name: str, tmp_path: Path, *options: str) -> bytes:
    """The starting-kit files in an enclosing folder, zipped by a real archiver."""
    for path, content in kit().items():
        (tmp_path / "my_submission" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "my_submission" / path).write_bytes(content)
    command = [*ARCHIVERS[name], *options, "out.zip", "my_submission"]
    subprocess.run(command, cwd=tmp_path, check=True)
    return (tmp_path / "out.zip").read_bytes()


@pytest.mark.parametrize("name", [tool("zip"), tool("7z")])
def test_archiver_output_gives_starting_kit_arrays(name: str, tmp_path: Path) -> None:
    """A folder zipped by `zip -r` or 7-Zip (directory entries, deflate) reads like the kit."""
    data = archive_with(name, tmp_path)
    assert "my_submission/cifar10/" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert_same_as_kit(read_submission(data))


@pytest.mark.parametrize("name", [tool("zip"), tool("7z")])
def test_archiver_password_is_refused(name: str, tmp_path: Path) -> None:
    """A zip made with a password is refused: five files named as encrypted, the rest counted."""
    found = problems(archive_with(name, tmp_path, *PASSWORD[name]))
    assert len(found) == 6, found
    assert all(p.endswith(": is encrypted; make the zip without a password") for p in found)
    assert found[-1].startswith("submission.zip: 295 more files: is encrypted")


TEST_163 = TARGET.replace("/final/", "/test/")
LAYOUT_FAULTS: dict[str, tuple[Mutation, str]] = {
    "missing-scenario": (
        dropping("/cifar10_lo/"),
        "cifar10/cifar10_lo/: scenario missing (expected its dev and final files)",
    ),
    "missing-models": (
        dropping("lo/final/model_163/", "lo/final/model_170/"),
        "cifar10/cifar10_lo/final/: 2 of 50 models missing: model_163, model_170",
    ),
    "missing-split": (
        dropping("/cifar10_hi/dev/"),
        "cifar10/cifar10_hi/dev/: split missing (model_100 to model_149)",
    ),
    "final-and-test": (
        adding({TEST_163: line()}),
        f"{TEST_163}: is a second file for cifar10_lo final model_163 (the first is {TARGET})",
    ),
    "two-enclosing-folders": (
        renaming(lambda n: "copy/" + n if "/cifar10_hi/" in n else n),
        "submission.zip: files sit under different folders ('(top level)' and 'copy/')",
    ),
    "csv-beside": (adding({"cifar10/old.csv": line()}), "cifar10/old.csv: unexpected file"),
    "leading-zeros": (
        renaming(lambda n: n.replace("/model_163/", "/model_000163/")),
        "cifar10/cifar10_lo/final/model_000163/prediction.csv: folder 'model_000163' should be "
        "named model_<id>",
    ),
    "fullwidth-digits": (
        renaming(lambda n: n.replace("/model_163/", "/model_１６３/")),
        "cifar10/cifar10_lo/final/model_１６３/prediction.csv: folder 'model_１６３' should be",
    ),
    "decoy-copy": (
        adding({"cifar10/cifar10_hi/dev/model_100/prediction (1).csv": line()}),
        "cifar10/cifar10_hi/dev/model_100/prediction (1).csv: unexpected file",
    ),
}
CONTENT_FAULTS: dict[str, tuple[bytes, str]] = {
    "199-values": (line(n=199), "199 values, expected 200"),
    "201-values": (line(n=201), "201 values, expected 200"),
    "nan": (line("nan"), "value 1 is NaN"),
    "inf": (line(0.5, "inf"), "value 2 is infinite"),
    "outside-0-1": (line(-0.1, 1.5), "value 1 is -0.1, outside [0, 1]; value 2 is 1.5, outside"),
    "abc": (line(0.5, "abc"), "value 2 is 'abc', not a number"),
    "two-commas": (line(0.5, 0.5, ""), "value 3 is empty (two commas in a row?)"),
    "empty-file": (b"", "is empty; expected 200 values"),
    "utf-16": (line().decode().encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
    "semicolons": (
        line().replace(b",", b";"),
        "separates values with ';': use commas, or one value a line",
    ),
    "tabs": (line().replace(b",", b"\t"), "separates values with tabs: use commas"),
    "spaces": (line().replace(b",", b" "), "separates values with spaces: use commas"),
    # What pandas' to_csv writes by default, and with only one of header=False, index=False.
    "pandas-default": (
        b",0\n" + b"".join(b"%d,0.5\n" % i for i in range(200)),
        "looks like a pandas header and index (first line ',0'): write it with "
        "to_csv(path, header=False, index=False)",
    ),
    "pandas-named-series": (
        b",prediction\n" + b"".join(b"%d,0.5\n" % i for i in range(200)),
        "looks like a pandas header and index (first line ',prediction')",
    ),
    "pandas-index-false": (
        b"0\n" + b"0.5\n" * 200,
        "looks like a pandas header (first line '0'): write it with to_csv(path, header=False)",
    ),
    "pandas-named-index-false": (
        b"prediction\r\n" + b"0.5\r\n" * 200,
        "looks like a pandas header (first line 'prediction')",
    ),
    "pandas-header-false": (
        b"".join(b"%d,0.5\n" % i for i in range(200)),
        "looks like a pandas index (a first column of row numbers 0, 1, 2, ...): write it with "
        "to_csv(path, index=False)",
    ),
    "pandas-one-row": (
        b"," + ",".join(map(str, range(200))).encode() + b"\n0," + line(),
        "looks like a pandas header and index (first line ',0,1,2,3,4,5,6,7,8,9...')",
    ),
    "pandas-one-row-header-false": (
        b"0," + line(),
        "looks like a pandas index (a first value 0 before the 200 values)",
    ),
}


@pytest.mark.parametrize(("mutate", "expected"), LAYOUT_FAULTS.values(), ids=LAYOUT_FAULTS)
def test_layout_fault_is_reported_with_path(mutate: Mutation, expected: str) -> None:
    """A file or folder out of place is refused with its path and what is wrong there."""
    assert_reported(problems(zip_of(mutate(kit()))), expected)


@pytest.mark.parametrize(("content", "expected"), CONTENT_FAULTS.values(), ids=CONTENT_FAULTS)
def test_content_fault_is_reported_with_path(content: bytes, expected: str) -> None:
    """A prediction file with a bad count, value or encoding is refused with its path and fault."""
    assert_reported(problems(zip_of({**kit(), TARGET: content})), f"{TARGET}: {expected}")


OTHER = "purchase100/purchase100_hi"


@pytest.mark.parametrize(
    ("track", "expected"),
    [
        ("cifar10", f"{OTHER}/: is a scenario of track purchase100, not of cifar10"),
        (None, "submission.zip: holds scenarios of several tracks (cifar10, purchase100)"),
    ],
)
def test_scenario_of_another_track_is_refused(track: str | None, expected: str) -> None:
    """Another track's scenario is named when the track is given, else both tracks are."""
    other = {f"{OTHER}/dev/model_{i}/prediction.csv": line() for i in range(100, 150)}
    assert_reported(problems(zip_of({**kit(), **other}), track=track), expected)


def test_misnamed_folders_are_one_problem_each() -> None:
    """A typo in a scenario or split folder is reported once for the folder, not per file."""
    files = {
        name.replace("/cifar10_lo/", "/cifar10_low/").replace("/dev/", "/devel/"): content
        for name, content in kit().items()
    }
    found = problems(zip_of(files))
    assert_reported(found, "cifar10/cifar10_low/: 'cifar10_low' is not a scenario of mico")
    assert_reported(found, "cifar10/cifar10_hi/devel/: 'devel' is not a split")
    assert any(p.endswith("(applies to 50 files)") for p in found), found
    assert len(found) < 10, found


def test_one_fault_of_every_file_is_said_five_times_then_counted() -> None:
    """300 files separated by semicolons: five named, 295 counted, in one list."""
    found = problems(zip_of(rewriting(lambda c: c.replace(b",", b";"))(kit())))
    assert len(found) == 6, found
    assert found[-1] == (
        "submission.zip: 295 more files: separates values with ';': use commas, or one value a line"
    )


def test_a_valid_file_gets_no_pandas_hint() -> None:
    """One value a line starting with 0 (200 values) is valid, not taken for a header."""
    files = {**kit(), TARGET: b"0\n" + b"0.5\n" * 199}
    found = problems(zip_of({**files, "cifar10/x.csv": b""}))
    assert found == [
        "cifar10/x.csv: unexpected file; expected only "
        "{track}/{scenario}/{split}/model_<id>/prediction.csv files"
    ]


def test_many_values_in_small_files_are_counted_not_parsed() -> None:
    """Thousands of "0," a file (1000:1 deflate) are counted, not read value by value."""
    files = rewriting(lambda _: b"0," * 3000 + b"0")(kit())
    found = problems(zip_of(files, zipfile.ZIP_DEFLATED))
    assert found[0].endswith(": 3001 values, expected 200")
    assert found[-1] == "submission.zip: 295 more files: 3001 values, expected 200"
    too_big = problems(zip_of(rewriting(lambda _: b"0.5," * 14_000)(kit()), zipfile.ZIP_DEFLATED))
    assert too_big[0].endswith("is 54.7 KB inflated, over the per-file limit of 12.5 KB")


def test_hostile_names_are_shown_short_and_escaped() -> None:
    """A 60,000-character name and terminal escapes come back cut short and made visible."""
    long_name, escape = "a/" * 30_000 + "x.csv", "notes\x1b[2J\u202etxt.csv"
    data = zip_of({**kit(), long_name: b"", escape: b"", "Zevil": b""})
    found = problems(data.replace(b"Zevil", b"\x00evil"))  # zipfile cannot write a NUL name
    assert all(len(p) < 700 for p in found)
    assert any(p.startswith("notes\\x1b[2J\\u202etxt.csv: unexpected file") for p in found)
    assert any(p.startswith("(an entry without a name): unexpected file") for p in found)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_the_same_name_twice_is_refused() -> None:
    """A zip holding one path twice (zipfile allows it) names the second copy."""
    data = append(kit_zip(), entry(TARGET), line())
    assert_reported(problems(data), f"{TARGET}: is a second file for cifar10_lo final model_163")


def test_a_track_folder_holding_another_tracks_scenarios_is_refused() -> None:
    """cifar10's scenarios inside a folder named purchase100 is a mix-up worth saying."""
    files = {name.replace("cifar10/", "purchase100/", 1): c for name, c in kit().items()}
    assert_reported(
        problems(zip_of(files)),
        "purchase100/cifar10_hi/: is a scenario of track cifar10, but sits in the folder "
        "'purchase100'",
    )


def test_every_problem_is_reported_at_once() -> None:
    """Three distinct faults give three problems in one answer, not one per upload."""
    files = {**dropping("lo/final/model_170/")(kit()), TARGET: line(n=199), "README.csv": b""}
    found = problems(zip_of(files))
    assert len(found) >= 3
    assert_reported(found, "cifar10/cifar10_lo/final/: 1 of 50 models missing: model_170")
    assert_reported(found, f"{TARGET}: 199 values, expected 200")
    assert_reported(found, "README.csv: unexpected file")


def bomb(
    megabytes: int, *, lie: bool, method: int = zipfile.ZIP_DEFLATED, base: Files | None = None
) -> bytes:
    """A zip whose TARGET is `megabytes` MB of zeros compressed 1 MB at a time, never held whole;
    with `lie`, both its headers then claim 4000 bytes (CRC and data untouched)."""
    buffer, chunk = io.BytesIO(), bytes(MB)
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, content in (base or {}).items():
            zf.writestr(name, content, zipfile.ZIP_DEFLATED)
        with zf.open(TARGET, "w", force_zip64=not lie) as member:
            for _ in range(megabytes):
                member.write(chunk)
    data = bytearray(buffer.getvalue())
    if lie:
        local, central = data.find(TARGET.encode()) - 30, data.rfind(TARGET.encode()) - 46
        assert data[local : local + 4] == b"PK\x03\x04"
        assert data[central : central + 4] == b"PK\x01\x02"
        struct.pack_into("<I", data, local + 22, 4000)
        struct.pack_into("<I", data, central + 24, 4000)
    return bytes(data)


def newer_zip_version() -> bytes:
    """The starting kit with its first entry claiming to need zip version 6.4 to extract."""
    data = bytearray(kit_zip())
    struct.pack_into("<H", data, data.find(b"PK\x01\x02") + 6, 64)
    return bytes(data)


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty-bytes": (lambda: b"", "is an empty file; expected a .zip archive"),
    "not-a-zip": (lambda: b"model,score\r\n163,0.5\r\n", "is not a zip archive"),
    "rar": (lambda: b"Rar!\x1a\x07\x01\x00" + bytes(64), "is a RAR archive, not a zip"),
    "truncated": (lambda: kit_zip()[: len(kit_zip()) // 2], "is a damaged zip archive"),
    "over-2-MB": (
        lambda: zip_of({**kit(), "pad.bin": np.random.default_rng(0).bytes(3 * MB // 2)}),
        "is 2.2 MB, over the limit of 2.0 MB",
    ),
    "20000-entries": (
        lambda: zip_of({f"{i:x}": b"" for i in range(20_000)}),
        "holds 20000 entries, over the limit of 5000",
    ),
    "declared-bomb": (
        lambda: bomb(100, lie=False),
        "would inflate to 100.0 MB, over the limit of 64.0 MB (a zip bomb?)",
    ),
}


@pytest.mark.parametrize(
    ("build", "expected"),
    [pytest.param(*case, id=name) for name, case in HOSTILE.items()]
    + [
        pytest.param(
            newer_zip_version,
            "uses a zip feature that is not supported (zip file version 6.4)",
            id="zip-version-6.4",
        )
    ],
)
def test_hostile_bytes_are_refused_as_a_whole(build: Callable[[], bytes], expected: str) -> None:
    """Bytes that are no usable zip are refused as a whole, saying why; nothing else is raised."""
    assert_reported(problems(build()), f"submission.zip: {expected}")


UNSAFE: dict[str, tuple[zipfile.ZipInfo, bytes, str]] = {
    "strong-encryption-flag": (
        entry(TARGET, flags=0x40),
        line(),
        "is encrypted; make the zip without a password",
    ),
    "dot-dot": (entry("../" + TARGET), line(), "has an absolute or '..' path"),
    "absolute": (entry("/etc/x"), b"", "has an absolute or '..' path"),
    "symlink": (entry(TARGET, 0o120777), b"/etc/passwd", "is a symbolic link"),
    "encrypted": (
        entry(TARGET, flags=0x1),
        line(),
        "is encrypted; make the zip without a password",
    ),
    "nested-zip": (entry("cifar10/lo.zip"), zip_of({TARGET: line()}), "is an archive inside"),
    "file-over-12.5-KB": (
        entry(TARGET, compression=zipfile.ZIP_DEFLATED),
        b"0.5," * MB,
        "is 4.0 MB inflated, over the per-file limit of 12.5 KB",
    ),
}


@pytest.mark.parametrize(("info", "content", "expected"), UNSAFE.values(), ids=UNSAFE)
def test_unsafe_entry_is_refused(info: zipfile.ZipInfo, content: bytes, expected: str) -> None:
    """An entry that must not be read (escape, link, password, archive, too big) is named."""
    data = append(zip_of(dropping(TARGET)(kit())), info, content)
    assert_reported(problems(data), f"{info.filename}: {expected}")


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored-crc", "deflated"]
)
def test_damaged_entry_is_reported(method: int) -> None:
    """One flipped bit inside an entry's data (bad CRC or stream) is reported on that file."""
    base = zip_of(dropping(TARGET)(kit()))
    data = bytearray(append(base, entry(TARGET, compression=method), line()))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(TARGET)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len + 4] ^= 0x01  # a digit stays a digit
    assert_reported(problems(bytes(data)), f"{TARGET}: is damaged inside the zip")


@pytest.mark.parametrize(
    ("method", "name"), [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "LZMA")], ids=str
)
def test_compression_without_an_output_bound_is_refused(method: int, name: str) -> None:
    """bzip2 and LZMA entries (zipfile inflates them unbounded) are refused by name, not read."""
    data = append(zip_of(dropping(TARGET)(kit())), entry(TARGET, compression=method), line())
    assert_reported(
        problems(data),
        f"{TARGET}: uses {name} compression, which is not accepted; zip with the standard "
        "(deflate) compression or none",
    )


def test_local_header_naming_another_file_is_refused() -> None:
    """A local header whose name differs from the directory's is damage, as zipfile says."""
    data = bytearray(kit_zip())
    local = data.find(TARGET.encode())
    data[local + len(TARGET) - 5] = ord("X")  # ...predictioX.csv in the local header only
    assert_reported(problems(bytes(data)), f"{TARGET}: is damaged inside the zip (its two headers")


def test_lying_bomb_is_not_inflated() -> None:
    """An entry claiming 4000 bytes that inflates to 64 MB is refused without inflating it."""
    data = bomb(64, lie=True, base=dropping(TARGET)(kit()))
    tracemalloc.start()
    try:
        found = problems(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_reported(found, f"{TARGET}: inflates to more bytes than the zip declares (a zip bomb?)")
    assert peak < 16 * MB


# Peak RSS from VmHWM: getrusage's ru_maxrss would include the forking pytest's own memory,
# which Linux carries across exec.
CHILD = """
import sys
from pathlib import Path
from app.scoring.problems import InvalidInput
from app.scoring.readers import read_submission
try:
    read_submission(Path(sys.argv[1]).read_bytes())
    print("accepted")
except InvalidInput as exc:
    print(exc)
status = Path("/proc/self/status").read_text().splitlines()
print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


@pytest.mark.parametrize(
    ("method", "megabytes"),
    [
        pytest.param(zipfile.ZIP_DEFLATED, 400, id="deflate-400MB"),  # 1 GB takes 3 s to build
        pytest.param(zipfile.ZIP_BZIP2, 128, id="bzip2-128MB"),
    ],
)
def test_lying_bomb_keeps_memory_low(tmp_path: Path, method: int, megabytes: int) -> None:
    """A child process reading a lying bomb of hundreds of MB peaks under 200 MB and reports it."""
    path = tmp_path / "bomb.zip"
    path.write_bytes(bomb(megabytes, lie=True, method=method))
    command = [sys.executable, "-c", CHILD, str(path)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    *said, peak_kb = run.stdout.splitlines()
    assert any(s.startswith(f"{TARGET}: ") for s in said), run.stdout
    assert int(peak_kb) < 200 * 1024


def test_demo_kit_honours_compression() -> None:
    """submission_zip(compression=ZIP_DEFLATED) deflates its entries."""
    data = submission_zip(CIFAR, "medium", compression=zipfile.ZIP_DEFLATED)
    methods = {i.compress_type for i in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    assert methods == {zipfile.ZIP_DEFLATED}
