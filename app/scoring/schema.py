"""Definition files: version 1 (MICO-shaped JSON) and version 2 (JSON or YAML), both ways.

Version 2, field by field (every error names its field, e.g.
`tracks[0].model_types[1].optional: expected true or false`):

    version: 2
    slug, title
    tracks: [{name, title?, ranking: mean|max|min|mean_rank,
              scenarios | model_types: [name | {name, optional?: bool}]}]
    splits: [{name, aliases?: [name],
              first + last | ids: [int] (with folder?: "model_{id}") | models: [folder]
              | models: {track or scenario name: [folder] | {first, last | ids, folder?}}}]
    required_splits: [split]          # what a submission must carry (default: phases')
    files: {predictions: template, labels: template, label_header?, points_per_model,
            max_submission_bytes?}    # template: [{track}/]{scenario|type}/{split}/{model}/FILE
    metrics: {fpr_thresholds: [float], ranking_threshold, comparison?: "<"|"<=",
              shown?: [metric key], codalab?: bool, codabench?: {key: ranking_score|metric}}
    phases: [{name, carries: [split], shown: [split], per_day?, total?, policy?: latest,
              uploads?: bool}]

YAML needs PyYAML, imported only to read a .yaml file: the readers and the scorer never load it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from app.scoring.definition import (
    AGGREGATES,
    ID,
    Definition,
    DefinitionError,
    Files,
    Phase,
    Split,
    Track,
    tpr_key,
)

T = TypeVar("T")
_TEMPLATE = re.compile(r"(\{track\}/)?\{(scenario|type)\}/\{split\}/\{model\}/([^/{}]+)")
_METRICS = ("AUC", "MIA", "accuracy")


MAX_FILE_BYTES = 1024 * 1024  # MIDST's definitions, with every model listed, are 4 KB


def load(path: Path) -> Definition:
    """Read a definition from a JSON or YAML file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"cannot be read ({exc})") from None
    return loads(data, path.name)


def loads(data: bytes, name: str) -> Definition:
    """A definition from a file's bytes (an upload): YAML when `name` ends in .yaml or .yml,
    else JSON; a file above MAX_FILE_BYTES is refused unread."""
    if len(data) > MAX_FILE_BYTES:
        raise DefinitionError(
            f"is {len(data):,} bytes; a definition file may hold at most {MAX_FILE_BYTES:,}"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"cannot be read ({exc}); save it as UTF-8 text") from None
    if name.lower().endswith((".yaml", ".yml")):
        import yaml

        try:
            content = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DefinitionError(f"not valid YAML: {exc}") from None
    else:
        try:
            content = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"not valid JSON: {exc}") from None
    if not isinstance(content, Mapping):
        raise DefinitionError("expected a mapping of fields at the top level")
    return from_dict(content)


def from_dict(data: Mapping[str, Any]) -> Definition:
    """A definition from plain data: version 2 when `version: 2`, else version 1."""
    version = data.get("version", 1)
    if version == 2:
        return _V2(data).definition()
    if version != 1:
        raise DefinitionError(f"version: expected 1 or 2, not {version!r}")
    return _from_v1(data)


def _from_v1(data: Mapping[str, Any]) -> Definition:
    """Version 1, as it always read: MICO's layout with other names, ranges and numbers."""
    optional = ("split_aliases", "prediction_file", "solution_file", "max_submission_bytes")
    extra = {key: data[key] for key in optional if key in data}
    folders = "{track}/{scenario}/{split}/{model}/"
    files = Files(
        predictions=folders + extra.get("prediction_file", "prediction.csv"),
        labels=folders + extra.get("solution_file", "solution.csv"),
    )
    return Definition(
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
        files=files if "prediction_file" in extra or "solution_file" in extra else Files(),
        **extra,
    )


class _Field:
    """A value read from a definition file, with the path that names it in errors."""

    def __init__(self, value: Any, path: str) -> None:
        self.value = value
        self.path = path

    def fail(self, expected: str) -> DefinitionError:
        """The error for this field: `path: expected ...`."""
        return DefinitionError(f"{self.path}: expected {expected}")

    def mapping(self, known: tuple[str, ...] | None = None) -> dict[str, Any]:
        """A mapping, with no key outside `known` (when given)."""
        if not isinstance(self.value, Mapping):
            raise self.fail("a mapping of fields")
        for key in self.value:
            if known is not None and key not in known:
                raise DefinitionError(
                    f"{self._join(str(key))}: unknown field; expected one of {', '.join(known)}"
                )
        return dict(self.value)

    def _join(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> _Field:
        """The field `key` of a mapping (its value None when absent)."""
        value = self.value.get(key) if isinstance(self.value, Mapping) else None
        return _Field(value, self._join(key))

    def has(self, key: str) -> bool:
        """True when the mapping holds `key`."""
        return isinstance(self.value, Mapping) and key in self.value

    def items(self) -> list[_Field]:
        """The items of a non-empty list."""
        if not isinstance(self.value, list) or not self.value:
            raise self.fail("a non-empty list")
        return [_Field(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    def text(self, default: str | None = None) -> str:
        """A non-empty string (or the default when absent or empty)."""
        if default is not None and self.value in (None, ""):
            return default
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.fail("a non-empty text")
        return self.value

    def name(self) -> str:
        """A name usable as a folder: letters, digits, `_ - .`, not `.` or `..`."""
        value = self.text()
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value) or value in (".", ".."):
            raise self.fail(f"a folder name of letters, digits, _ - and ., not {value!r}")
        return value

    def flag(self, default: bool) -> bool:
        """true or false."""
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            raise self.fail("true or false")
        return self.value

    def whole(self, default: int | None = None, minimum: int = 0) -> int:
        """A whole number, at least `minimum`."""
        if self.value is None and default is not None:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.fail("a whole number")
        if self.value < minimum:
            raise self.fail(f"a whole number of at least {minimum}")
        return self.value

    def limit(self) -> int | None:
        """A limit: a whole number of at least 1, or absent (none)."""
        return None if self.value is None else self.whole(minimum=1)

    def rate(self) -> float:
        """A number strictly between 0 and 1."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise self.fail("a number between 0 and 1")
        if not 0 < self.value < 1:
            raise self.fail(f"a number between 0 and 1, not {self.value}")
        return float(self.value)

    def choice(self, options: tuple[str, ...], default: str) -> str:
        """One of `options`."""
        if self.value is None:
            return default
        if self.value not in options:
            raise self.fail(" or ".join(options))
        return cast(str, self.value)

    def names_in(self, known: tuple[str, ...], what: str) -> tuple[str, ...]:
        """A list of names, each one of `known`."""
        names = tuple(f.text() for f in self.items())
        for i, n in enumerate(names):
            if n not in known:
                raise DefinitionError(
                    f"{self.path}[{i}]: '{n}' is not {what}; expected one of {', '.join(known)}"
                )
        return names


def _unique(fields: list[_Field], read: Callable[[_Field], T], key: Callable[[T], str]) -> list[T]:
    """Read each field; refuse a second item of the same name."""
    out: list[T] = []
    seen: set[str] = set()
    for f in fields:
        item = read(f)
        if key(item) in seen:
            raise DefinitionError(f"{f.path}: a second '{key(item)}'; names must be unique")
        seen.add(key(item))
        out.append(item)
    return out


class _V2:
    """Reads a version 2 definition, field by field."""

    TOP = (
        *("version", "slug", "title", "tracks", "splits", "required_splits", "files"),
        *("metrics", "phases"),
    )

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.root = _Field(data, "")
        self.root.mapping(self.TOP)
        self._seen: set[str] = set()  # scenarios of the tracks read so far

    def definition(self) -> Definition:
        """The whole definition."""
        slug = self.root.get("slug").name()
        tracks = _unique(self.root.get("tracks").items(), self._track, lambda t: t.name)
        self._scenarios = {s: t for t in tracks for s in t.scenarios}
        self._track_names = {t.name: t for t in tracks}
        splits = _unique(self.root.get("splits").items(), self._split, lambda s: s.name)
        self._split_names = tuple(s.name for s in splits)
        files, points, max_bytes = self._files()
        metrics = self._metrics()
        phases = self._phases()
        required = self._required(phases)
        return Definition(
            slug=slug,
            title=self.root.get("title").text(default=slug),
            tracks=tuple(tracks),
            splits=tuple(splits),
            required_splits=required,
            points_per_model=points,
            prediction_file=files.predictions.rsplit("/", 1)[-1],
            solution_file=files.labels.rsplit("/", 1)[-1],
            max_submission_bytes=max_bytes,
            files=files,
            phases=phases,
            version=2,
            **metrics,
        )

    def _track(self, f: _Field) -> Track:
        f.mapping(("name", "title", "ranking", "scenarios", "model_types"))
        key = "model_types" if f.has("model_types") else "scenarios"
        if f.has("model_types") and f.has("scenarios"):
            raise DefinitionError(f"{f.path}: give scenarios or model_types, not both")
        scenarios = _unique(f.get(key).items(), self._scenario, lambda s: s[0])
        for name, _ in scenarios:
            if name in self._seen:
                raise DefinitionError(f"{f.path}.{key}: '{name}' belongs to another track too")
        self._seen |= {n for n, _ in scenarios}
        return Track(
            f.get("name").name(),
            tuple(n for n, _ in scenarios),
            f.get("title").text(default=""),
            frozenset(n for n, optional in scenarios if optional),
            cast(Any, f.get("ranking").choice(AGGREGATES, "mean")),
        )

    def _scenario(self, f: _Field) -> tuple[str, bool]:
        if isinstance(f.value, str):
            return f.name(), False
        f.mapping(("name", "optional"))
        return f.get("name").name(), f.get("optional").flag(False)

    def _split(self, f: _Field) -> Split:
        f.mapping(("name", "aliases", "first", "last", "ids", "folder", "models"))
        name = f.get("name").name()
        aliases: tuple[str, ...] = ()
        if f.has("aliases"):
            aliases = tuple(a.name().lower() for a in f.get("aliases").items())
        models = f.get("models")
        if isinstance(models.value, Mapping):
            by = self._by_scenario(models)
            return Split(name, by_scenario=by, aliases=aliases)
        if models.value is not None:
            return Split(name, names=self._folders(models), aliases=aliases)
        first, last, names, folder = self._ids(f)
        return Split(name, first, last, folder, names, aliases=aliases)

    def _ids(self, f: _Field) -> tuple[int, int, tuple[str, ...], str]:
        """Models by id: `first` and `last`, or a list of `ids`, in `folder` folders."""
        folder = f.get("folder").text(default="model_{id}")
        if folder.count(ID) != 1 or "/" in folder:
            raise f.get("folder").fail("a folder name holding {id} once, e.g. model_{id}")
        if f.has("ids"):
            ids = [i.whole() for i in f.get("ids").items()]
            names = tuple(folder.replace(ID, str(i)) for i in ids)
            self._no_repeats(f.get("ids"), names)
            return 0, -1, names, "model_{id}"  # the names are what counts from here on
        if not f.has("first"):
            raise DefinitionError(f"{f.path}: give the models: first and last, ids, or models")
        first, last = f.get("first").whole(), f.get("last").whole()
        if last < first:
            raise f.get("last").fail(f"a whole number of at least first ({first})")
        return first, last, (), folder

    def _folders(self, f: _Field) -> tuple[str, ...]:
        names = tuple(i.name() for i in f.items())
        self._no_repeats(f, names)
        return names

    @staticmethod
    def _no_repeats(f: _Field, names: tuple[str, ...]) -> None:
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise DefinitionError(f"{f.path}: '{twice}' is listed twice")

    def _by_scenario(self, f: _Field) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Models per scenario, or per track (for each of its scenarios)."""
        out: dict[str, tuple[str, ...]] = {}
        for key, value in f.mapping().items():
            item = _Field(value, f"{f.path}.{key}")
            if isinstance(value, Mapping):
                item.mapping(("first", "last", "ids", "folder"))
                first, last, names, folder = self._ids(item)
                models = names or tuple(folder.replace(ID, str(i)) for i in range(first, last + 1))
            else:
                models = self._folders(item)
            if key in self._track_names:
                out.update(dict.fromkeys(self._track_names[key].scenarios, models))
            elif key in self._scenarios:
                out[key] = models
            else:
                known = ", ".join([*self._track_names, *self._scenarios])
                raise DefinitionError(
                    f"{item.path}: '{key}' is neither a track nor a scenario; "
                    f"expected one of {known}"
                )
        missing = [s for s in self._scenarios if s not in out]
        if missing:
            raise DefinitionError(f"{f.path}: no models for {', '.join(missing)}")
        return tuple((s, out[s]) for s in self._scenarios)

    def _files(self) -> tuple[Files, int, int]:
        f = self.root.get("files")
        f.mapping(
            ("predictions", "labels", "label_header", "points_per_model", "max_submission_bytes")
        )
        predictions = self._template(f.get("predictions"))
        labels = self._template(f.get("labels"))
        if predictions.rsplit("/", 1)[0] != labels.rsplit("/", 1)[0]:
            raise f.get("labels").fail(f"the folders of predictions ({predictions})")
        header = f.get("label_header").text() if f.has("label_header") else None
        points = f.get("points_per_model").whole(minimum=2)
        max_bytes = f.get("max_submission_bytes").whole(default=2 * 1024 * 1024, minimum=1024)
        return Files(predictions, labels, header), points, max_bytes

    @staticmethod
    def _template(f: _Field) -> str:
        value = f.text()
        if not _TEMPLATE.fullmatch(value):
            raise f.fail(
                "a template like {track}/{scenario}/{split}/{model}/prediction.csv "
                "or {type}/{split}/{model}/prediction.csv"
            )
        return value

    def _metrics(self) -> dict[str, Any]:
        f = self.root.get("metrics")
        f.mapping(
            ("fpr_thresholds", "ranking_threshold", "comparison", "shown", "codalab", "codabench")
        )
        thresholds = tuple(t.rate() for t in f.get("fpr_thresholds").items())
        ranking = f.get("ranking_threshold").rate()
        if ranking not in thresholds:
            raise f.get("ranking_threshold").fail(f"one of fpr_thresholds ({list(thresholds)})")
        keys = (*(tpr_key(t) for t in thresholds), *_METRICS)
        shown = f.get("shown").names_in(keys, "a metric") if f.has("shown") else ()
        codabench = {}
        if f.has("codabench"):
            for key, value in f.get("codabench").mapping().items():
                item = _Field(value, f"{f.path}.codabench.{key}")
                codabench[str(key)] = item.choice(("ranking_score", *keys), "ranking_score")
        return {
            "fpr_thresholds": thresholds,
            "ranking_threshold": ranking,
            "fpr_inclusive": f.get("comparison").choice(("<", "<="), "<") == "<=",
            "shown_metrics": shown,
            "codalab": f.get("codalab").flag(False),
            "codabench": codabench,
        }

    def _phases(self) -> tuple[Phase, ...]:
        if not self.root.has("phases"):
            return ()
        return tuple(_unique(self.root.get("phases").items(), self._phase, lambda p: p.name))

    def _phase(self, f: _Field) -> Phase:
        f.mapping(("name", "carries", "shown", "per_day", "total", "policy", "uploads"))
        splits = self._split_names
        return Phase(
            f.get("name").text(),
            f.get("carries").names_in(splits, "a split"),
            f.get("shown").names_in(splits, "a split") if f.has("shown") else (),
            f.get("per_day").limit(),
            f.get("total").limit(),
            cast(Any, f.get("policy").choice(("latest",), "latest")),
            f.get("uploads").flag(True),
        )

    def _required(self, phases: tuple[Phase, ...]) -> tuple[str, ...]:
        """What a submission must carry: `required_splits`, or what uploading phases carry."""
        if self.root.has("required_splits"):
            return self.root.get("required_splits").names_in(self._split_names, "a split")
        carried = {s for p in phases if p.uploads for s in p.carries}
        if not carried:
            raise DefinitionError("required_splits: give them, or phases that carry splits")
        return tuple(s for s in self._split_names if s in carried)


def to_dict(d: Definition) -> dict[str, Any]:
    """A definition as version 2 plain data (no labels: safe to publish)."""
    data: dict[str, Any] = {
        "version": 2,
        "slug": d.slug,
        "title": d.title,
        "tracks": [_track_dict(t, d.scenario_word) for t in d.tracks],
        "splits": [_split_dict(s, d) for s in d.splits],
        "required_splits": list(d.required_splits),
        "files": {
            "predictions": d.files.predictions,
            "labels": d.files.labels,
            **({"label_header": d.files.label_header} if d.files.label_header else {}),
            "points_per_model": d.points_per_model,
            "max_submission_bytes": d.max_submission_bytes,
        },
        "metrics": {
            "fpr_thresholds": list(d.fpr_thresholds),
            "ranking_threshold": d.ranking_threshold,
            "comparison": "<=" if d.fpr_inclusive else "<",
            "shown": list(d.shown_metrics),
            "codalab": d.codalab,
            "codabench": dict(d.codabench),
        },
        "phases": [_phase_dict(p) for p in d.phases],
    }
    # An empty list or mapping reads as "not given" (a file may not hold an empty list).
    data["metrics"] = {k: v for k, v in data["metrics"].items() if v != [] and v != {}}
    return {k: v for k, v in data.items() if v != []}


def _track_dict(t: Track, word: str) -> dict[str, Any]:
    key = "model_types" if word == "model type" else "scenarios"
    return {
        "name": t.name,
        "title": t.title,
        "ranking": t.ranking,
        key: [{"name": s, "optional": s in t.optional} for s in t.scenarios],
    }


def _split_dict(s: Split, d: Definition) -> dict[str, Any]:
    aliases = sorted({*s.aliases, *(a for a, n in d.split_aliases.items() if n == s.name)})
    out: dict[str, Any] = {"name": s.name, **({"aliases": aliases} if aliases else {})}
    if s.by_scenario:
        out["models"] = {name: list(models) for name, models in s.by_scenario}
    elif s.names:
        out["models"] = list(s.names)
    else:
        out.update(first=s.first, last=s.last, folder=s.folder)
    return out


def _phase_dict(p: Phase) -> dict[str, Any]:
    return {
        "name": p.name,
        "carries": list(p.carries),
        **({"shown": list(p.shown)} if p.shown else {}),
        "per_day": p.per_day,
        "total": p.total,
        "policy": p.policy,
        "uploads": p.uploads,
    }
