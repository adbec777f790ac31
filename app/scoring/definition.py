"""A competition's shape as data: tracks, scenarios, splits, files, metrics and limits.

MICO is the built-in definition. Another competition of the same shape (other tracks, other
model-id ranges, other thresholds) is a new `Definition`, for example loaded from JSON with
`Definition.from_dict`, never new code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Track:
    """A ranked group of scenarios; each participant submits one zip per track."""

    name: str
    scenarios: tuple[str, ...]
    title: str = ""

    def __post_init__(self) -> None:
        # The official program numbers scenarios in sorted order (scenario1 = first name).
        object.__setattr__(self, "scenarios", tuple(sorted(self.scenarios)))


@dataclass(frozen=True)
class Split:
    """A named range of model ids, `first` to `last` inclusive."""

    name: str
    first: int
    last: int

    @property
    def model_ids(self) -> range:
        """The model ids of this split, in order."""
        return range(self.first, self.last + 1)

    def describe(self) -> str:
        """Human form of the range, e.g. `model_150 to model_199`."""
        return f"model_{self.first} to model_{self.last}"


@dataclass(frozen=True)
class Definition:
    """Everything the reader and the scorer need to know about a competition."""

    slug: str
    title: str
    tracks: tuple[Track, ...]
    splits: tuple[Split, ...]
    required_splits: tuple[str, ...]
    points_per_model: int
    fpr_thresholds: tuple[float, ...]
    ranking_threshold: float
    split_aliases: Mapping[str, str] = field(default_factory=dict)
    prediction_file: str = "prediction.csv"
    solution_file: str = "solution.csv"
    max_submission_bytes: int = 2 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.ranking_threshold not in self.fpr_thresholds:
            raise ValueError("ranking_threshold must be one of fpr_thresholds")
        names = [s.name for s in self.splits]
        unknown = set(self.required_splits) - set(names)
        if unknown:
            raise ValueError(f"required splits {sorted(unknown)} are not splits")
        scenarios = [s for t in self.tracks for s in t.scenarios]
        if len(scenarios) != len(set(scenarios)):
            raise ValueError("a scenario name may belong to one track only")

    def track(self, name: str) -> Track:
        """The track called `name`; KeyError naming the known tracks otherwise."""
        for track in self.tracks:
            if track.name == name:
                return track
        known = ", ".join(t.name for t in self.tracks)
        raise KeyError(f"'{name}' is not a track of {self.title}; tracks: {known}")

    def split(self, name: str) -> Split:
        """The split called `name`, in any letter case, or one of its aliases (`test`)."""
        folded = name.lower()
        try:
            return self._splits_by_name[self.split_aliases.get(folded, folded)]
        except KeyError:
            names = ", ".join(self.split_names)
            raise KeyError(f"'{name}' is not a split; splits: {names}") from None

    @cached_property
    def _splits_by_name(self) -> dict[str, Split]:
        return {s.name: s for s in self.splits}

    @cached_property
    def _tracks_by_scenario(self) -> dict[str, Track]:
        return {scenario: t for t in self.tracks for scenario in t.scenarios}

    @property
    def split_names(self) -> tuple[str, ...]:
        """Names of the splits, in definition order."""
        return tuple(s.name for s in self.splits)

    def track_of_scenario(self, scenario: str) -> Track | None:
        """The track a scenario belongs to, or None."""
        return self._tracks_by_scenario.get(scenario)

    @property
    def tpr_keys(self) -> tuple[str, ...]:
        """Keys of TPR at each FPR threshold, lowest threshold first."""
        return tuple(tpr_key(t) for t in self.fpr_thresholds)

    @property
    def ranking_key(self) -> str:
        """Metric key of the ranking threshold, e.g. `TPR_FPR_1000`."""
        return tpr_key(self.ranking_threshold)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Definition:
        """Build a definition from plain data, as a JSON definition file holds it."""
        optional = ("split_aliases", "prediction_file", "solution_file", "max_submission_bytes")
        return cls(
            slug=data["slug"],
            title=data.get("title", data["slug"]),
            tracks=tuple(
                Track(t["name"], tuple(t["scenarios"]), t.get("title", "")) for t in data["tracks"]
            ),
            splits=tuple(Split(s["name"], int(s["first"]), int(s["last"])) for s in data["splits"]),
            required_splits=tuple(data["required_splits"]),
            points_per_model=int(data["points_per_model"]),
            fpr_thresholds=tuple(float(t) for t in data["fpr_thresholds"]),
            ranking_threshold=float(data["ranking_threshold"]),
            **{key: data[key] for key in optional if key in data},
        )

    @classmethod
    def load(cls, path: Path) -> Definition:
        """Read a definition from a JSON file."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def tpr_key(threshold: float) -> str:
    """Official key of TPR at FPR < threshold: t x 10^4, e.g. 0.1 -> `TPR_FPR_1000`."""
    return f"TPR_FPR_{round(threshold * 1e4)}"


MICO = Definition(
    slug="mico",
    title="MICO: Microsoft Membership Inference Competition",
    tracks=(
        Track("cifar10", ("cifar10_hi", "cifar10_inf", "cifar10_lo"), "CIFAR-10 images"),
        Track(
            "purchase100",
            ("purchase100_hi", "purchase100_inf", "purchase100_lo"),
            "Purchase-100 tabular",
        ),
        Track("sst2", ("sst2_hi", "sst2_inf", "sst2_lo"), "SST-2 text"),
        Track("ddp", ("cifar10_ddp", "purchase100_ddp", "sst2_ddp"), "DP distinguisher"),
    ),
    splits=(Split("train", 0, 99), Split("dev", 100, 149), Split("final", 150, 199)),
    required_splits=("dev", "final"),
    points_per_model=200,
    fpr_thresholds=(0.001, 0.01, 0.05, 0.1, 0.15, 0.2),
    ranking_threshold=0.1,
    split_aliases={"test": "final"},
)
