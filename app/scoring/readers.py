"""Submission zips and ground-truth trees in, validated arrays out, or every problem found."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.scoring.archive import Limits, ZipReader
from app.scoring.definition import MICO, Definition
from app.scoring.layout import Key, Placed, collect, place
from app.scoring.parsing import LABEL, PROBABILITY, ValueRule, parse_batch, parse_file
from app.scoring.problems import InvalidInput, Problem

MAX_PROBLEMS = 300
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


Loader = Callable[[], "bytes | Problem"]


def read_submission(
    data: bytes,
    *,
    definition: Definition = MICO,
    track: str | None = None,
    name: str = "submission.zip",
    limits: Limits | None = None,
) -> Predictions:
    """Validate a prediction zip; raise InvalidInput with every problem found."""
    limits = limits or Limits(max_zip_bytes=definition.max_submission_bytes)
    reader, problems = ZipReader.open(data, name, limits)
    if reader is None:
        raise InvalidInput(problems)
    members: list[tuple[str, Loader]] = []
    for member in reader.members():
        if isinstance(member, Problem):
            problems.append(member)
        else:
            path, info = member
            members.append((path, partial(reader.read, path, info)))
    values, tracks, more = _read_tree(
        members,
        definition,
        name=name,
        filename=definition.prediction_file,
        rule=PROBABILITY,
        track=track,
        single_track=True,
        required_splits=definition.required_splits,
    )
    _raise_if(problems + more)
    files = sum(v.size for v in values.values()) // definition.points_per_model
    return Predictions(track=tracks[0], values=values, files=files)


def read_truth(path: Path, *, definition: Definition = MICO) -> GroundTruth:
    """Read ground truth from a folder or a zip in the official layout (any tracks and splits)."""
    if path.is_dir():
        members = list(_folder_members(path, definition.solution_file))
        problems: list[Problem] = []
    else:
        reader, problems = ZipReader.open(path.read_bytes(), path.name, TRUTH_LIMITS)
        if reader is None:
            raise InvalidInput(problems)
        members = []
        for member in reader.members():
            if isinstance(member, Problem):
                problems.append(member)
            elif member[0].rsplit("/", 1)[-1].lower() == definition.solution_file:
                members.append((member[0], partial(reader.read, *member)))
    labels, tracks, more = _read_tree(
        members,
        definition,
        name=path.name,
        filename=definition.solution_file,
        rule=LABEL,
        track=None,
        single_track=False,
        required_splits=(),
    )
    problems += more + _one_class_splits(labels)
    _raise_if(problems)
    return GroundTruth(labels=labels, tracks=tracks)


def _folder_members(root: Path, filename: str) -> Iterable[tuple[str, Loader]]:
    """Solution files under a folder, as (relative path, loader); other files are ignored."""
    for folder, _, names in sorted(os.walk(root)):
        for n in sorted(names):
            if n.lower() == filename.lower():
                full = Path(folder) / n
                yield full.relative_to(root).as_posix(), partial(_read_small, full)


def _read_small(path: Path, limit: int = 1024 * 1024) -> bytes | Problem:
    """A file's bytes, refusing one too large to be a solution file."""
    size = path.stat().st_size
    if size > limit:
        return Problem(path.name, f"is {size} bytes, too large for a solution file")
    return path.read_bytes()


def _read_tree(
    members: list[tuple[str, Loader]],
    definition: Definition,
    *,
    name: str,
    filename: str,
    rule: ValueRule,
    track: str | None,
    single_track: bool,
    required_splits: tuple[str, ...],
) -> tuple[SplitArrays, tuple[str, ...], list[Problem]]:
    """Place, check and parse the files of a tree: arrays, track names, problems."""
    problems: list[Problem] = []
    loaders = dict(members)
    placed: list[Placed] = []
    for path, _ in members:
        spot = place(path, definition, filename)
        if isinstance(spot, Problem):
            problems.append(spot)
        else:
            placed.append(spot)
    layout = collect(
        placed,
        definition,
        name=name,
        track=track,
        single_track=single_track,
        required_splits=required_splits,
    )
    problems += layout.problems
    keys = sorted(layout.files)
    loaded: list[tuple[Key, bytes]] = []
    for key in keys:
        content = loaders[layout.files[key]]()
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
        return {}, (), problems
    return _by_split(keys, values, count), tuple(t.name for t in layout.tracks), []


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


def _raise_if(problems: list[Problem]) -> None:
    """Raise InvalidInput with the problems (at most MAX_PROBLEMS, then a count)."""
    if not problems:
        return
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [Problem("", f"... and {rest} more problems")]
    raise InvalidInput(problems)
