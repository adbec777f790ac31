"""Submission zips and ground-truth trees in, validated arrays out, or every problem found."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.scoring.archive import Limits, ZipReader, read_zip_file
from app.scoring.definition import MICO, Definition
from app.scoring.layout import Key, exact_layout, lay_out
from app.scoring.parsing import BOM, LABEL, PROBABILITY, ValueRule, parse_batch, parse_file
from app.scoring.problems import InvalidInput, Problem, summarise

TRUTH_LIMITS = Limits(
    max_zip_bytes=512 * 1024 * 1024, max_entries=200_000, max_total_bytes=512 * 1024 * 1024
)

SplitArrays = dict[tuple[str, str], NDArray[np.float64]]


@dataclass(frozen=True)
class Predictions:
    """A valid submission: per (scenario, split), the predictions of all models in id order."""

    track: str
    values: SplitArrays
    files: int
    warnings: tuple[Problem, ...] = ()  # what was ignored: unscored splits, README files...

    @property
    def splits(self) -> list[str]:
        """Splits the submission holds predictions for."""
        return sorted({split for _, split in self.values})


@dataclass(frozen=True)
class GroundTruth:
    """Labels per (scenario, split), all models in id order; never leaves the server."""

    labels: SplitArrays
    tracks: tuple[str, ...]

    def has(self, scenario: str, split: str) -> bool:
        """True when labels for that scenario and split are known."""
        return (scenario, split) in self.labels


Reader = Callable[[str], "bytes | Problem"]


def read_submission(
    data: bytes,
    *,
    definition: Definition = MICO,
    track: str | None = None,
    name: str = "submission.zip",
    limits: Limits | None = None,
    splits: tuple[str, ...] | None = None,
) -> Predictions:
    """Validate a prediction zip; raise InvalidInput with every problem found.

    `splits` are the splits that must be there and are read (default: the definition's
    required splits, as the server requires). What the official program never reads is
    ignored with a warning: other splits (`train/`), models outside their split's ids, and
    files no one would take for predictions (README, notes.txt), counted and never inflated.
    """
    limits = limits or submission_limits(definition)
    reader, problems = ZipReader.open(data, name, limits)
    if reader is None:
        raise InvalidInput(problems)
    paths, read = _zip_members(reader, problems)
    values, tracks, more, warnings = _read_tree(
        paths,
        read,
        definition,
        name=name,
        filename=definition.prediction_file,
        rule=PROBABILITY,
        track=track,
        single_track=True,
        required_splits=tuple(
            definition.split(s).name
            for s in (definition.required_splits if splits is None else splits)
        ),
        tolerant=True,
    )
    warnings = summarise(warnings, name)
    _raise_if(problems + more, name, warnings)
    files = sum(v.size for v in values.values()) // definition.points_per_model
    return Predictions(track=tracks[0], values=values, files=files, warnings=tuple(warnings))


def submission_limits(definition: Definition) -> Limits:
    """Reader limits for a submission: the size limit, and files no larger than their values.

    64 bytes a value is three times a 17-digit float's text; without this bound a 100 KB zip of
    repeated "0," files (1000:1 deflate) would make millions of numbers to parse.
    """
    return Limits(
        max_zip_bytes=definition.max_submission_bytes,
        max_file_bytes=max(4096, 64 * definition.points_per_model),
    )


def read_truth(path: Path, *, definition: Definition = MICO) -> GroundTruth:
    """Read ground truth from a folder or a zip in the official layout (any tracks and splits)."""
    if not path.is_dir() and not path.is_file():
        raise InvalidInput([Problem(str(path), "is neither a folder nor a zip file")])
    if not path.is_dir():
        return read_truth_zip(read_zip_file(path, TRUTH_LIMITS), path.name, definition=definition)
    paths = _folder_files(path, definition.solution_file.lower())
    return _truth_tree(paths, partial(_read_small, path), [], definition, path.name)


def read_truth_zip(data: bytes, name: str, *, definition: Definition = MICO) -> GroundTruth:
    """`read_truth` of a zip's bytes (an upload), any tracks and splits."""
    reader, problems = ZipReader.open(data, name, TRUTH_LIMITS)
    if reader is None:
        raise InvalidInput(problems)
    # The organizers' data tree also holds model.pt, seeds...: only solution files count.
    paths, read = _zip_members(reader, problems, only=definition.solution_file.lower())
    return _truth_tree(paths, read, problems, definition, name)


def _truth_tree(
    paths: list[str], read: Reader, problems: list[Problem], definition: Definition, name: str
) -> GroundTruth:
    labels, tracks, more, _ = _read_tree(
        paths,
        _without_header(read, definition.files.label_header),
        definition,
        name=name,
        filename=definition.solution_file,
        rule=LABEL,
        track=None,
        single_track=False,
        required_splits=(),
    )
    problems += more + _one_class_splits(labels)
    _raise_if(problems, name)
    return GroundTruth(labels=labels, tracks=tracks)


def read_track_truth(
    data: bytes,
    *,
    track: str,
    splits: tuple[str, ...],
    definition: Definition = MICO,
    name: str = "truth.zip",
    limits: Limits = TRUTH_LIMITS,
) -> GroundTruth:
    """Validate an uploaded zip of one track's ground truth; raise InvalidInput with every
    problem found.

    Every scenario of the track and every model of `splits` must be there (any other split
    present must be complete too); files other than solution files are ignored, as in
    `read_truth`; scenarios of another track are refused.
    """
    reader, problems = ZipReader.open(data, name, limits)
    if reader is None:
        raise InvalidInput(problems)
    paths, read = _zip_members(reader, problems, only=definition.solution_file.lower())
    labels, tracks, more, _ = _read_tree(
        paths,
        _without_header(read, definition.files.label_header),
        definition,
        name=name,
        filename=definition.solution_file,
        rule=LABEL,
        track=track,
        single_track=True,
        required_splits=tuple(definition.split(s).name for s in splits),
    )
    problems += more + _one_class_splits(labels)
    _raise_if(problems, name)
    return GroundTruth(labels=labels, tracks=tracks)


def _without_header(read: Reader, header: str | None) -> Reader:
    """Label files without their header line (MIDST's `is_train`), when the definition has
    one; a file without it is read whole."""
    if header is None:
        return read
    expected = header.strip().lower().encode()

    def without(path: str) -> bytes | Problem:
        content = read(path)
        if isinstance(content, Problem):
            return content
        first, _, rest = content.removeprefix(BOM).partition(b"\n")
        return rest if first.strip().lower() == expected else content

    return without


def _zip_members(
    reader: ZipReader, problems: list[Problem], only: str | None = None
) -> tuple[list[str], Reader]:
    """Paths of the readable members (file name `only`, if given) and a function reading one.

    Unreadable members are appended to `problems`. A name stored twice stays twice in the
    paths, so that the layout check reports it.
    """
    paths: list[str] = []
    infos: dict[str, zipfile.ZipInfo] = {}
    for member in reader.members():
        if isinstance(member, Problem):
            problems.append(member)
        elif only is None or member[0].rsplit("/", 1)[-1].lower() == only:
            paths.append(member[0])
            infos[member[0]] = member[1]
    return paths, lambda path: reader.read(path, infos[path])


def _folder_files(root: Path, filename: str) -> list[str]:
    """Relative paths of the files called `filename` under a folder; others are ignored."""
    return [
        (Path(folder) / n).relative_to(root).as_posix()
        for folder, _, names in sorted(os.walk(root))
        for n in sorted(names)
        if n.lower() == filename
    ]


def _read_small(root: Path, path: str) -> bytes | Problem:
    """A regular file's bytes, within the truth limits (a FIFO or a device is never opened)."""
    limit = TRUTH_LIMITS.max_file_bytes
    full = root / path
    if not full.is_file():
        return Problem(path, "is not a regular file (a broken link, a device or a pipe?)")
    with full.open("rb") as f:
        content = f.read(limit + 1)
    if len(content) > limit:
        return Problem(path, f"is over {limit // 1024} KB, too large for a solution file")
    return content


def _read_tree(
    paths: list[str],
    read: Reader,
    definition: Definition,
    *,
    name: str,
    filename: str,
    rule: ValueRule,
    track: str | None,
    single_track: bool,
    required_splits: tuple[str, ...],
    tolerant: bool = False,
) -> tuple[SplitArrays, tuple[str, ...], list[Problem], list[Problem]]:
    """Place, check and parse the files of a tree: arrays, track names, problems, warnings.

    Only the files the layout keeps are ever read; ignored ones are counted (`lay_out`).
    """
    layout = None
    if single_track:
        layout = exact_layout(
            paths, definition, filename=filename, track=track, splits=required_splits
        )
    if layout is None:
        layout = lay_out(
            paths,
            definition,
            name=name,
            filename=filename,
            track=track,
            single_track=single_track,
            required_splits=required_splits,
            tolerant=tolerant,
        )
    problems = list(layout.problems)
    keys = list(layout.files)
    if not layout.ordered:  # models in the definition's order: MIDST's are not sorted by name
        keys.sort(key=lambda k: (k[0], k[1], definition.models(k[0], k[1])[k[2]]))
    loaded: list[tuple[Key, bytes]] = []
    for key in keys:
        content = read(layout.files[key])
        if isinstance(content, Problem):
            problems.append(content)
        else:
            loaded.append((key, content))
    count = definition.points_per_model
    values = None
    if not problems:
        values = parse_batch([content for _, content in loaded], count, rule)
    if values is None:
        values = _parse_each(loaded, layout.files, count, rule, problems)
    if problems:
        return {}, (), problems, layout.warnings
    arrays = _by_split(keys, values, count)
    return arrays, tuple(t.name for t in layout.tracks), [], layout.warnings


def _parse_each(
    loaded: list[tuple[Key, bytes]],
    paths: dict[Key, str],
    count: int,
    rule: ValueRule,
    problems: list[Problem],
) -> NDArray[np.float64]:
    """The slow path: each file alone, every fault described; appends to `problems`."""
    arrays = []
    for key, content in loaded:
        values, faults = parse_file(content, count, rule)
        problems.extend(Problem(paths[key], f) for f in faults)
        if values is not None:
            arrays.append(values)
    return np.concatenate(arrays) if arrays else np.empty(0)


def _by_split(keys: list[Key], values: NDArray[np.float64], count: int) -> SplitArrays:
    """Cut the values of sorted keys into one array per (scenario, split)."""
    out: SplitArrays = {}
    start = 0
    for group, models in groupby(keys, key=lambda k: (k.scenario, k.split)):
        end = start + count * len(list(models))
        out[group] = values[start:end]
        start = end
    return out


def _one_class_splits(labels: SplitArrays) -> list[Problem]:
    """Splits whose labels are all members or all non-members: their ROC is undefined."""
    return [
        Problem(
            f"{scenario}/{split}/",
            f"every label is {int(y[0])}; a split needs both "
            "members (1) and non-members (0) to be scored",
        )
        for (scenario, split), y in sorted(labels.items())
        if y.size and np.all(y == y[0])
    ]


def _raise_if(problems: list[Problem], name: str, warnings: list[Problem] | None = None) -> None:
    """Raise InvalidInput with the problems, summarised for a person to read."""
    if problems:
        raise InvalidInput(summarise(problems, name), warnings)
