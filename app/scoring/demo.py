"""Synthetic MICO-shaped data: official-layout ground truth and submissions of known strength.

Everything is deterministic for a seed (zip timestamps included), so tests, the demo and the
benchmarks can rebuild the same bytes. Predictions are written the way the MICO starting kit
writes them: float32 values through `csv.writer` (one line, CRLF), zipped uncompressed.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.scoring.definition import MICO, Definition, Track

# Attack name -> (signal strength, decimals the predictions are rounded to, or None).
ATTACKS: dict[str, tuple[float, int | None]] = {
    "strong": (1.6, None),
    "medium": (0.8, None),
    "weak": (0.3, 2),
    "random": (0.0, 3),
}
_EPOCH = (2023, 1, 13, 12, 0, 0)
# Harder scenarios (lower epsilon) leak less: scale the signal per scenario suffix.
_LEAKAGE = {"inf": 1.0, "hi": 0.7, "lo": 0.5, "ddp": 0.25}


def _rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator that depends only on the seed and the given names."""
    text = "/".join(str(p) for p in parts)
    return np.random.default_rng([seed, *text.encode()])


def labels_for(seed: int, scenario: str, model_id: int, points: int) -> NDArray[np.int8]:
    """Membership of a model's challenge points: half members, in a random order."""
    labels = np.zeros(points, dtype=np.int8)
    labels[: points // 2] = 1
    _rng(seed, "labels", scenario, model_id).shuffle(labels)
    return labels


def predictions_for(
    seed: int, attack: str, scenario: str, model_id: int, labels: NDArray[np.int8]
) -> NDArray[np.float64]:
    """An attack's confidences in [0, 1] for one model (float64: written with 17 digits)."""
    strength, decimals = ATTACKS[attack]
    leakage = _LEAKAGE.get(scenario.rsplit("_", 1)[-1], 0.5)
    noise = _rng(seed, attack, scenario, model_id).normal(size=labels.size)
    values = 1.0 / (1.0 + np.exp(-(strength * leakage * (2 * labels - 1) + noise)))
    if decimals is not None:
        values = np.round(values, decimals)
    return values


def csv_line(values: Iterable[object]) -> bytes:
    """One CSV line as `csv.writer` writes it (CRLF ending)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().encode()


def _entry(name: str) -> zipfile.ZipInfo:
    return zipfile.ZipInfo(name, date_time=_EPOCH)


def submission_zip(
    track: Track,
    attack: str,
    *,
    seed: int = 0,
    definition: Definition = MICO,
    splits: tuple[str, ...] | None = None,
    compression: int = zipfile.ZIP_STORED,
    float32: bool = True,
) -> bytes:
    """A whole submission for a track (the required splits by default), as the kit zips it.

    With `float32`, values are written as the starting kit writes its float32 arrays (8-9
    digits); without, as float64 (17 digits, about 1.1 MB for a MICO track).
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for scenario in track.scenarios:
            for split_name in definition.required_splits if splits is None else splits:
                for model_id in definition.split(split_name).model_ids:
                    labels = labels_for(seed, scenario, model_id, definition.points_per_model)
                    values = predictions_for(seed, attack, scenario, model_id, labels)
                    row = values.astype(np.float32) if float32 else values.tolist()
                    folder = f"{track.name}/{scenario}/{split_name}/model_{model_id}"
                    path = f"{folder}/{definition.prediction_file}"
                    zf.writestr(_entry(path), csv_line(row), compress_type=compression)
    return buffer.getvalue()


def write_truth(out: Path, tracks: Iterable[Track], *, seed: int, definition: Definition) -> None:
    """Write a solution file for every model of every split, in the official layout."""
    for track in tracks:
        for scenario in track.scenarios:
            for split in definition.splits:
                for model_id in split.model_ids:
                    folder = out / track.name / scenario / split.name / f"model_{model_id}"
                    folder.mkdir(parents=True, exist_ok=True)
                    labels = labels_for(seed, scenario, model_id, definition.points_per_model)
                    (folder / definition.solution_file).write_bytes(csv_line(labels))


def write_demo_data(
    out: Path,
    track_names: Iterable[str] | None = None,
    *,
    seed: int = 0,
    definition: Definition = MICO,
) -> list[Path]:
    """Ground truth under `out/truth/` and one zip per track and attack under `out/submissions/`."""
    tracks = [definition.track(t) for t in track_names] if track_names else definition.tracks
    write_truth(out / "truth", tracks, seed=seed, definition=definition)
    zips = []
    (out / "submissions").mkdir(parents=True, exist_ok=True)
    for track in tracks:
        for attack in ATTACKS:
            path = out / "submissions" / f"{track.name}-{attack}.zip"
            path.write_bytes(submission_zip(track, attack, seed=seed, definition=definition))
            zips.append(path)
    return zips
