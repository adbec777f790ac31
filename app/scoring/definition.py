"""A competition's shape as data: tracks, scenarios, splits, files, metrics, phases and limits.

MICO is the built-in definition. Another competition of the same shape (other tracks, model
types, model folders, thresholds, ranking aggregate) is a new `Definition` loaded from a JSON
or YAML file (`Definition.load`, `app/scoring/schema.py` reads version 1 and version 2 files),
never new code. The words: a track ranks a group of scenarios (MIDST calls them model types);
each scenario has the same splits; a split lists its model folders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

Aggregate = Literal["mean", "max", "min", "mean_rank"]
AGGREGATES: tuple[Aggregate, ...] = ("mean", "max", "min", "mean_rank")
ID = "{id}"  # the model id's place in a folder pattern such as model_{id}


class DefinitionError(ValueError):
    """A definition file that cannot be used; the message names the field, e.g.
    `tracks[0].model_types[1].optional: expected true or false`."""


@dataclass(frozen=True)
class Track:
    """A ranked group of scenarios; each participant submits one zip per track.

    `optional` scenarios may be left out of a submission (MIDST's model types); one present
    must be complete. `ranking` says how the scenarios' ranking metric makes the track's score.
    """

    name: str
    scenarios: tuple[str, ...]
    title: str = ""
    optional: frozenset[str] = frozenset()
    ranking: Aggregate = "mean"

    def __post_init__(self) -> None:
        # The official program numbers scenarios in sorted order (scenario1 = first name).
        object.__setattr__(self, "scenarios", tuple(sorted(self.scenarios)))
        object.__setattr__(self, "optional", frozenset(self.optional))


@dataclass(frozen=True)
class Split:
    """A split's models: the ids `first` to `last` in folders named by `folder` (MICO:
    model_100 to model_149), or explicit folder names, for every scenario or per scenario."""

    name: str
    first: int = 0
    last: int = -1
    folder: str = "model_{id}"
    names: tuple[str, ...] = ()  # explicit folder names, in scoring order
    by_scenario: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (scenario, names) pairs
    aliases: tuple[str, ...] = ()  # other folder names of the split, e.g. `test` for final

    @property
    def model_ids(self) -> range:
        """The model ids of a split given as a range, in order (empty for named models)."""
        return range(self.first, self.last + 1)

    @property
    def by_range(self) -> bool:
        """True when the models are the ids `first` to `last` in `folder` folders."""
        return not self.names and not self.by_scenario

    def models(self, scenario: str | None = None) -> tuple[str, ...]:
        """The model folders of this split for a scenario, in scoring order."""
        for name, models in self.by_scenario:
            if name == scenario:
                return models
        if self.names:
            return self.names
        return tuple(self.folder.replace(ID, str(i)) for i in self.model_ids)

    def describe(self, scenario: str | None = None) -> str:
        """Human form of the models, e.g. `model_150 to model_199`."""
        if self.by_range:
            return f"{self.folder.replace(ID, str(self.first))} to " + self.folder.replace(
                ID, str(self.last)
            )
        if scenario is None and self.by_scenario and not self.names:
            counts = sorted({len(m) for _, m in self.by_scenario})
            return f"{'/'.join(map(str, counts))} models per scenario"
        models = self.models(scenario)
        if not models:
            return "no models"
        return f"{len(models)} models: {models[0]} to {models[-1]}"


@dataclass(frozen=True)
class Files:
    """Where prediction and label files sit, as templates: `{track}/` optional on top, then
    `{scenario}` (or `{type}`), `{split}`, `{model}` and the file name."""

    predictions: str = "{track}/{scenario}/{split}/{model}/prediction.csv"
    labels: str = "{track}/{scenario}/{split}/{model}/solution.csv"
    label_header: str | None = None  # a first line of label files to skip (MIDST: is_train)

    @property
    def scenario_word(self) -> str:
        """What the layout calls a scenario: `scenario`, or `model type` for `{type}`."""
        return "model type" if "{type}" in self.predictions else "scenario"


@dataclass(frozen=True)
class Phase:
    """How a phase takes uploads, as data for the server (it enforces them, scoring does not).

    `carries`: the splits an upload holds; `shown`: the splits whose scores its leaderboard
    shows; limits per participant (or team) and phase, None for none; `policy`: which of a
    participant's submissions counts (`latest`); `uploads`: False when the phase only ranks
    what an earlier one received (MICO's Final).
    """

    name: str
    carries: tuple[str, ...]
    shown: tuple[str, ...]
    per_day: int | None = None
    total: int | None = None
    policy: Literal["latest"] = "latest"
    uploads: bool = True


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
    files: Files = Files()
    fpr_inclusive: bool = False  # `<=` instead of the official programs' `<`
    shown_metrics: tuple[str, ...] = ()  # metric keys a leaderboard shows (empty: all)
    codalab: bool = True  # `--format codalab` writes the MICO program's scores.txt keys
    codabench: Mapping[str, str] = field(default_factory=dict)  # scores.json key -> value
    phases: tuple[Phase, ...] = ()
    version: int = 1

    def __post_init__(self) -> None:
        if self.ranking_threshold not in self.fpr_thresholds:
            raise DefinitionError("ranking_threshold must be one of fpr_thresholds")
        names = [s.name for s in self.splits]
        unknown = set(self.required_splits) - set(names)
        if unknown:
            raise DefinitionError(f"required splits {sorted(unknown)} are not splits")
        scenarios = [s for t in self.tracks for s in t.scenarios]
        if len(scenarios) != len(set(scenarios)):
            raise DefinitionError("a scenario name may belong to one track only")

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
            return self._splits_by_name[self._aliases.get(folded, folded)]
        except KeyError:
            names = ", ".join(self.split_names)
            raise KeyError(f"'{name}' is not a split; splits: {names}") from None

    def phase(self, name: str) -> Phase:
        """The phase called `name` (any letter case); KeyError naming the known phases."""
        for phase in self.phases:
            if phase.name.lower() == name.lower():
                return phase
        known = ", ".join(p.name for p in self.phases) or "none defined"
        raise KeyError(f"'{name}' is not a phase of {self.title}; phases: {known}")

    @cached_property
    def _aliases(self) -> dict[str, str]:
        aliases = {a.lower(): s.name for s in self.splits for a in s.aliases}
        return {**aliases, **self.split_aliases}

    @cached_property
    def _splits_by_name(self) -> dict[str, Split]:
        return {s.name: s for s in self.splits}

    @cached_property
    def _tracks_by_scenario(self) -> dict[str, Track]:
        return {scenario: t for t in self.tracks for scenario in t.scenarios}

    @cached_property
    def _positions(self) -> dict[tuple[str, str], dict[str, int]]:
        return {
            (scenario, split.name): {m: i for i, m in enumerate(split.models(scenario))}
            for scenario in self._tracks_by_scenario
            for split in self.splits
        }

    @property
    def split_names(self) -> tuple[str, ...]:
        """Names of the splits, in definition order."""
        return tuple(s.name for s in self.splits)

    def track_of_scenario(self, scenario: str) -> Track | None:
        """The track a scenario belongs to, or None."""
        return self._tracks_by_scenario.get(scenario)

    def models(self, scenario: str, split: str) -> dict[str, int]:
        """The model folders of a scenario's split, each with its place in scoring order."""
        return self._positions[scenario, split]

    @cached_property
    def model_folder(self) -> re.Pattern[str] | None:
        """What every model folder must look like when all splits name them by a pattern
        (MICO: model_<id>, without leading zeros), else None (any name; lists decide)."""
        patterns = {s.folder for s in self.splits if s.by_range}
        if len(patterns) != 1 or not all(s.by_range for s in self.splits):
            return None
        before, _, after = patterns.pop().partition(ID)
        return re.compile(f"{re.escape(before)}(0|[1-9][0-9]{{0,8}}){re.escape(after)}")

    @property
    def model_hint(self) -> str:
        """How a model folder is named, for messages: `model_<id>` or `<model>`."""
        if self.model_folder is None:
            return "<model>"
        return self.splits[0].folder.replace(ID, "<id>")

    @property
    def layout_hint(self) -> str:
        """The folders above a prediction file, e.g. `{track}/{scenario}/{split}/model_<id>`."""
        return self.files.predictions.rsplit("/", 1)[0].replace("{model}", self.model_hint)

    @property
    def scenario_word(self) -> str:
        """What this competition calls a scenario (`scenario`, or MIDST's `model type`)."""
        return self.files.scenario_word

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
        """Build a definition from plain data, as a JSON or YAML definition file holds it."""
        from app.scoring.schema import from_dict

        return from_dict(data)

    @classmethod
    def load(cls, path: Path) -> Definition:
        """Read a definition from a JSON or YAML file (YAML by its .yaml or .yml suffix)."""
        from app.scoring.schema import load

        return load(path)

    def to_dict(self) -> dict[str, Any]:
        """The definition as version 2 plain data: public (it holds no labels), and
        `Definition.from_dict(d.to_dict()) == d`."""
        from app.scoring.schema import to_dict

        return to_dict(self)


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
    shown_metrics=("TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_1000", "AUC", "MIA", "accuracy"),
    phases=(
        Phase("Development", ("dev", "final"), ("dev",), per_day=30, total=1000),
        Phase("Final", ("dev", "final"), ("final",), uploads=False),
    ),
)
