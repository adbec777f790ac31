"""Where files sit: the definition's template, MICO's `{track}/{scenario}/{split}/model_{id}/{file}`
or MIDST's `{type}/{split}/{model}/{file}`, and what is missing or extra.

Accepted around that layout: any enclosing folders shared by every file (`zipfile.write` with a
full path, a folder zipped whole), no track folder at all (the scenario folders zipped
directly), `test/` for `final/`, and the file name in any letter case. A scenario the track
marks optional (MIDST's model types) may be left out; one that is present must be complete.

A tolerant layout (a submission's) also does without what the official program never reads,
and warns: the files of splits it is not asked for (say `train/`), models outside their
split's ids, and files no one would take for predictions (README, notes.txt). Those files are
counted, never read.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import NamedTuple

from app.scoring.definition import Definition, Track
from app.scoring.problems import Problem

_LIST = 8  # missing models listed by name before "..."
# A file that may hold values (by its suffix or its name) is never ignored: it may be the
# predictions under another name, and scoring without it would be a guess.
_DATA_SUFFIXES = frozenset(
    ".csv .tsv .psv .dat .data .out .npy .npz .json .jsonl .pkl .pickle .pt .pth .parquet "
    ".feather .arrow .h5 .hdf5 .xls .xlsx .ods .bin".split()
)
_DATA_WORDS = ("pred", "solution", "score", "member", "label", "result", "model", "submission")
# Documents, code and pictures hold no predictions whatever their name (model.py, roc_scores.png).
_DOCUMENT_SUFFIXES = frozenset(
    ".md .rst .pdf .html .png .jpg .jpeg .gif .svg .py .ipynb .sh .yaml .yml .toml .cfg .ini "
    ".log".split()
)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._][A-Za-z0-9 _.+-]*")


class Key(NamedTuple):
    """A model of a scenario's split: where one file's values belong (`model`: its folder)."""

    scenario: str
    split: str
    model: str


class Placed(NamedTuple):
    """A file recognised in the layout."""

    key: Key
    track: Track
    path: str
    base: str  # everything above the scenario folder, with its trailing `/`


class Stray(NamedTuple):
    """A file that is no prediction file and cannot be taken for one (README, notes.txt)."""

    path: str


def place(path: str, definition: Definition, filename: str) -> Placed | Stray | Problem:
    """Recognise one file's place in the layout, or say what is wrong with it.

    The model id is not checked against its split here: `collect` does, once the track is known.
    """
    parts = path.rsplit("/", 4)
    if parts[-1].lower() != filename.lower() or len(parts) < 4:
        layout = f"{definition.layout_hint}/{filename}"
        if parts[-1].lower() != filename.lower():
            if harmless(parts[-1]):
                return Stray(path)
            return Problem(path, f"unexpected file; expected only {layout} files")
        word = definition.scenario_word
        return Problem(path, f"is not inside a {word}, split and model folder ({layout})")
    scenario, split_name, model_dir = parts[-4], parts[-3], parts[-2]
    pattern = definition.model_folder
    match = pattern.fullmatch(model_dir) if pattern else None
    if pattern and not match:
        example = _example_model(definition)
        return Problem(
            path,
            f"folder '{model_dir}' should be named {definition.model_hint}, e.g. {example}",
        )
    try:
        split = definition.split(split_name)
    except KeyError:
        names = ", ".join(definition.split_names)
        folder = "/".join(parts[:-2]) + "/"
        return Problem(folder, f"'{split_name}' is not a split; expected one of {names}")
    track = definition.track_of_scenario(scenario)
    if track is None:
        folder = "/".join(parts[:-3]) + "/"
        known = ", ".join(s for t in definition.tracks for s in t.scenarios)
        word = definition.scenario_word
        return Problem(
            folder, f"'{scenario}' is not a {word} of {definition.slug}; expected one of {known}"
        )
    base = parts[0] + "/" if len(parts) == 5 else ""
    return Placed(Key(scenario, split.name, model_dir), track, path, base)


def _example_model(definition: Definition) -> str:
    """A model folder to show in messages: the first of the first required split (model_100)."""
    split = definition.split((*definition.required_splits, *definition.split_names)[0])
    scenario = definition.tracks[0].scenarios[0]
    return next(iter(definition.models(scenario, split.name)), "model_0")


def harmless(name: str) -> bool:
    """True for a file name no one would take for predictions: README, notes.txt, LICENSE.

    Refused instead: data suffixes (`.csv`, `.npy`, `.json`...), names out of the plain ASCII
    set (escapes, no name), and names that speak of predictions, models or scores unless they
    are documents, code or pictures (`model.py`, `roc_scores.png`).
    """
    lower = name.lower()
    suffix = PurePosixPath(lower).suffix
    if not _PLAIN_NAME.fullmatch(name) or suffix in _DATA_SUFFIXES:
        return False
    return suffix in _DOCUMENT_SUFFIXES or not any(word in lower for word in _DATA_WORDS)


@dataclass
class Layout:
    """The files of a tree keyed by model, every problem with where they sit, and what was
    ignored (a tolerant layout's warnings)."""

    files: dict[Key, str]
    tracks: tuple[Track, ...]
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)  # what was ignored, and where
    ordered: bool = False  # files already in scoring order: by scenario, split, then model


def collect(
    placed: Iterable[Placed],
    definition: Definition,
    *,
    name: str,
    track: str | None,
    single_track: bool,
    required_splits: tuple[str, ...],
    tolerant: bool = False,
) -> Layout:
    """Check a set of placed files for one shared base, one track, duplicates and gaps.

    Tolerant, the files of splits not required and of models outside their split are left
    out with a warning; otherwise every split present is read and an unknown model is a problem.
    """
    placed = list(placed)
    problems = _mixed_bases(placed, name) + _misplaced_tracks(placed, definition)
    chosen, wrong = _choose_tracks(placed, definition, name, track, single_track)
    problems += wrong
    files: dict[Key, str] = {}
    unscored: Counter[str] = Counter()
    outside: list[Problem] = []
    seen: set[str] = set()  # scenarios with any file, ignored ones too
    for p in placed:
        if p.track not in chosen:
            continue
        seen.add(p.key.scenario)
        if tolerant and p.key.split not in required_splits:
            unscored[p.key.split] += 1
            continue
        split = definition.split(p.key.split)
        if p.key.model not in definition.models(p.key.scenario, split.name):
            where = p.path if not tolerant else p.path.rsplit("/", 1)[0] + "/"
            fault = f"{p.key.model} is not a model of the {split.name} split"
            outside.append(Problem(where, f"{fault} ({split.describe(p.key.scenario)})"))
            continue
        if p.key in files:
            problems.append(
                Problem(
                    p.path,
                    f"is a second file for {p.key.scenario} {p.key.split} {p.key.model} "
                    f"(the first is {files[p.key]})",
                )
            )
            continue
        files[p.key] = p.path
    bases = {p.track.name: p.base for p in placed}
    for t in chosen:
        problems += _gaps(files, t, definition, required_splits, bases.get(t.name, ""), seen)
    if not tolerant:
        return Layout(files, chosen, problems + outside)
    return Layout(files, chosen, problems, _ignored(outside, unscored, definition))


def _ignored(
    outside: list[Problem], unscored: Counter[str], definition: Definition
) -> list[Problem]:
    """Warnings for models outside their split, then one per unscored split with its count."""
    warnings = [Problem(p.path, f"{p.message}: ignored") for p in outside]
    return warnings + [
        Problem("", f"{split}/ is not scored: ignored ({n} file{'s' if n != 1 else ''})")
        for split in definition.split_names
        if (n := unscored[split])
    ]


def exact_layout(
    paths: list[str],
    definition: Definition,
    *,
    filename: str,
    track: str | None,
    splits: tuple[str, ...],
) -> Layout | None:
    """The layout of a tree holding exactly one track's expected files, else None.

    Most submissions are exactly the starting kit's files, perhaps in an enclosing folder:
    comparing their names with the expected set costs a tenth of placing each file. Anything
    else (a missing, extra or oddly named file) returns None for `place` and `collect` to
    describe.
    """
    first = paths[0].rsplit("/", 4) if paths else []
    owner = definition.track_of_scenario(first[-4]) if len(first) >= 4 else None
    if owner is None or track not in (None, owner.name):
        return None
    base = first[0] + "/" if len(first) == 5 else ""
    if _other_track_folder(base, owner, definition):
        return None  # scenario folders inside another track's folder: collect says so
    files = {
        Key(scenario, split, model): f"{base}{scenario}/{split}/{model}/{filename}"
        for scenario in owner.scenarios
        for split in splits
        for model in definition.models(scenario, split)
    }
    if len(paths) != len(files) or set(paths) != set(files.values()):
        return None
    return Layout(files, (owner,), [], ordered=True)


def lay_out(
    paths: list[str],
    definition: Definition,
    *,
    name: str,
    filename: str,
    track: str | None,
    single_track: bool,
    required_splits: tuple[str, ...],
    tolerant: bool = False,
) -> Layout:
    """Place every file, then check the whole for gaps, strays and duplicates.

    Tolerant (a submission), files that are no prediction files are ignored with a warning, as
    are unrequired splits and unknown models (see `collect`); otherwise they are problems.
    """
    placed: list[Placed] = []
    misplaced: Counter[Problem] = Counter()
    strays: list[Problem] = []
    for path in paths:
        spot = place(path, definition, filename)
        if isinstance(spot, Stray):
            strays.append(Problem(path, "is not a prediction file: ignored"))
        elif isinstance(spot, Problem):
            misplaced[spot] += 1
        else:
            placed.append(spot)
    if strays and not tolerant:
        expected = f"{definition.layout_hint}/{filename}"
        misplaced.update(
            Problem(p.path, f"unexpected file; expected only {expected} files") for p in strays
        )
        strays = []
    layout = collect(
        placed,
        definition,
        name=name,
        track=track,
        single_track=single_track,
        required_splits=required_splits,
        tolerant=tolerant,
    )
    # A wrongly named scenario or split folder is one problem, not one per file inside it.
    layout.problems[:0] = [
        Problem(p.path, f"{p.message} (applies to {n} files)") if n > 1 else p
        for p, n in misplaced.items()
    ]
    layout.warnings[:0] = strays
    return layout


def _mixed_bases(placed: list[Placed], name: str) -> list[Problem]:
    """One problem when the files do not all sit under the same enclosing folders."""
    roots = sorted({_strip_track(p) for p in placed})
    if len(roots) <= 1:
        return []
    shown = " and ".join(f"'{r or '(top level)'}'" for r in roots[:2])
    return [
        Problem(
            name, f"files sit under different folders ({shown}); zip one copy of the track folder"
        )
    ]


def _strip_track(p: Placed) -> str:
    """The enclosing folders of a file, without its track folder."""
    suffix = f"{p.track.name}/"
    if p.base == suffix or p.base.endswith("/" + suffix):
        return p.base[: -len(suffix)]
    return p.base


def _misplaced_tracks(placed: list[Placed], definition: Definition) -> list[Problem]:
    """Scenario folders inside the folder of another track (once per folder)."""
    problems = []
    for base, scenario, owner in sorted({(p.base, p.key.scenario, p.track) for p in placed}):
        folder = _other_track_folder(base, owner, definition)
        if folder:
            message = f"is a scenario of track {owner.name}, but sits in the folder '{folder}'"
            problems.append(Problem(f"{base}{scenario}/", message))
    return problems


def _other_track_folder(base: str, owner: Track, definition: Definition) -> str | None:
    """The folder just above a scenario's, when it is named after another track."""
    folder = base.rstrip("/").rsplit("/", 1)[-1]
    others = {t.name for t in definition.tracks} - {owner.name}
    return folder if folder in others else None


def _choose_tracks(
    placed: list[Placed],
    definition: Definition,
    name: str,
    track: str | None,
    single_track: bool,
) -> tuple[tuple[Track, ...], list[Problem]]:
    """The track(s) the tree is for, and problems for files of any other."""
    found = sorted({p.track.name for p in placed})
    if track is not None:
        try:
            wanted = definition.track(track)
        except KeyError as exc:
            return (), [Problem(name, str(exc.args[0]))]
        strays = sorted(
            {(p.base, p.key.scenario, p.track.name) for p in placed if p.track != wanted}
        )
        return (wanted,), [
            Problem(f"{base}{scenario}/", f"is a scenario of track {owner}, not of {track}")
            for base, scenario, owner in strays
        ]
    if not found:
        return (), [Problem(name, f"holds no files in the {definition.layout_hint}/ layout")]
    if single_track and len(found) > 1:
        return (), [
            Problem(
                name,
                f"holds scenarios of several tracks ({', '.join(found)}); make one zip per track",
            )
        ]
    return tuple(definition.track(t) for t in found), []


def _gaps(
    files: dict[Key, str],
    track: Track,
    definition: Definition,
    required_splits: tuple[str, ...],
    base: str,
    seen: set[str],
) -> list[Problem]:
    """Missing scenarios, splits and models of a track, one problem per scenario or split.

    An optional scenario with no file at all is not missing: it is left out."""
    present: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key in files:
        if key.scenario in track.scenarios:
            present[key.scenario, key.split].add(key.model)
    splits = [
        s
        for s in definition.splits
        if s.name in required_splits or any(k[1] == s.name for k in present)
    ]
    problems = []
    for scenario in track.scenarios:
        if scenario not in seen:
            if scenario in track.optional:
                continue
            wanted = " and ".join(s.name for s in splits)
            word = definition.scenario_word
            problems.append(
                Problem(f"{base}{scenario}/", f"{word} missing (expected its {wanted} files)")
            )
            continue
        for split in splits:
            ids = present.get((scenario, split.name), set())
            models = definition.models(scenario, split.name)
            missing = [m for m in models if m not in ids]
            if not missing:
                continue
            where = f"{base}{scenario}/{split.name}/"
            if not ids:
                problems.append(Problem(where, f"split missing ({split.describe(scenario)})"))
                continue
            names = ", ".join(missing[:_LIST])
            more = ", ..." if len(missing) > _LIST else ""
            problems.append(
                Problem(where, f"{len(missing)} of {len(models)} models missing: {names}{more}")
            )
    return problems
