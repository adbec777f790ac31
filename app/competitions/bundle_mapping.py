"""Which shipped definition a CodaLab or Codabench bundle is: MICO's built-in one, or one of
MIDST's four definition files. A bundle of any other competition is refused, with what to do.

Only names are compared (title, description, phase and task names, leaderboard keys): a
bundle's scoring program is never run, so mia-arena must know the competition already.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.scoring.definition import MICO

README_SECTION = 'write a definition file instead (README: "Another competition")'
_MIDST_WORDS = re.compile(r"\bmidst\b|diffusion[- ]models?[- ]based synthetic tabular", re.I)
_MICO_WORDS = re.compile(r"\bmico\b|microsoft membership inference", re.I)
_MICO_KEYS = re.compile(r"^(scenario\d+|average)_TPR_FPR_\d+$")
_BOX = re.compile(r"\b(black|white)[\s_-]*box\b", re.I)
_TABLE = re.compile(r"\b(single|multi)[\s_-]*tables?\b", re.I)
_FAMILIES = {"tabddpm": "single", "tabsyn": "single", "clavaddpm": "multi"}
_FAMILY = re.compile(r"\b(tabddpm|tabsyn|clavaddpm)", re.I)


@dataclass(frozen=True)
class Signals:
    """What a bundle calls itself, in the order the mapping trusts it (title first)."""

    title: str
    description: str
    phases: tuple[str, ...]
    tasks: tuple[str, ...]  # Codabench task names
    task_texts: tuple[str, ...]  # Codabench task descriptions
    column_keys: tuple[str, ...]

    def texts(self) -> list[str]:
        """Each place a name may appear, most trusted first; one string per place."""
        return [
            self.title,
            self.description,
            " ".join(self.phases),
            " ".join(self.tasks),
            " ".join(self.task_texts),
        ]


@dataclass(frozen=True)
class Target:
    """The definition a bundle maps to, and the tracks of it the bundle holds."""

    definition: str  # "mico", "midst-blackbox-single", ...
    definition_file: str | None  # None: built in; else e.g. "definitions/midst-...yaml"
    tracks: tuple[str, ...]  # empty: every track of the definition
    note: str


class Unmapped(Exception):
    """The bundle maps to no shipped definition; the message says why and what to do."""


def map_bundle(signals: Signals) -> Target:
    """The shipped definition the bundle names; Unmapped when it names none, or both."""
    text = "\n".join(signals.texts())
    is_mico = bool(_MICO_WORDS.search(text)) or any(
        _MICO_KEYS.match(k) for k in signals.column_keys
    )
    is_midst = bool(_MIDST_WORDS.search(text) or _FAMILY.search(text))
    if is_mico and is_midst:
        raise Unmapped(
            f"competition.yaml names both MICO and MIDST ({_named(signals)}); a bundle is one "
            "competition: keep the other's name out of its title, description and tasks"
        )
    if is_mico:
        return _mico(signals)
    if is_midst:
        return _midst(signals)
    raise Unmapped(
        f"competition.yaml names {_named(signals)}; mia-arena maps only MICO (tracks "
        f"{', '.join(t.name for t in MICO.tracks)}) and MIDST (black box or white box, single "
        f"or multi table); {README_SECTION}"
    )


def _named(signals: Signals) -> str:
    """What the bundle calls itself, for a refusal: its title and its tasks or phases."""
    title = f"title '{signals.title}'" if signals.title else "no title"
    parts = ("tasks", signals.tasks) if signals.tasks else ("phases", signals.phases)
    if not parts[1]:
        return title
    listed = ", ".join(f"'{name}'" for name in parts[1][:4]) + (
        ", ..." if len(parts[1]) > 4 else ""
    )
    return f"{title}, {parts[0]} {listed}"


def _norm(text: str) -> str:
    """Letters and digits only, lower case: `MICO - CIFAR-10` -> `micocifar10`."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _mico_aliases() -> dict[str, set[str]]:
    """How a title may name each MICO track: its name, its title, its title's first word."""
    aliases = {}
    for track in MICO.tracks:
        words = {track.name, _norm(track.title)}
        first = _norm(track.title.split()[0]) if track.title else ""
        aliases[track.name] = words | ({first} if len(first) >= 4 else set())
    return aliases


def _mico(signals: Signals) -> Target:
    """MICO's built-in definition; the tracks the title names (MICO shipped one per track)."""
    title = _norm(signals.title)
    tracks = tuple(
        name for name, words in _mico_aliases().items() if any(w in title for w in words)
    )
    scenarios = {len(t.scenarios) for t in MICO.tracks}
    shape = (
        f"{len(MICO.tracks)} tracks ({', '.join(t.name for t in MICO.tracks)}), "
        f"{'/'.join(map(str, sorted(scenarios)))} scenarios each, models split "
        f"{'/'.join(MICO.split_names)}, ranked by the mean TPR at "
        f"{MICO.ranking_threshold:.0%} FPR"
    )
    held = (
        f"this bundle is track {', '.join(tracks)} (title '{signals.title}')"
        if tracks
        else f"the title '{signals.title}' names no single track, so it stands for all of them"
    )
    return Target("mico", None, tracks, f"maps to MICO's built-in definition: {shape}; {held}")


@dataclass(frozen=True)
class _Midst:
    box: str  # "black" or "white"
    table: str  # "single" or "multi"

    @property
    def name(self) -> str:
        return f"midst-{self.box}box-{self.table}"

    @property
    def model_types(self) -> list[str]:
        families = [f for f, table in _FAMILIES.items() if table == self.table]
        return [f"{f}_{self.box}_box" for f in families]


_PLACES = ("title", "description", "phase names", "task names", "task descriptions")


def _midst(signals: Signals) -> Target:
    """One of MIDST's four definitions, told apart by box and table (title trusted first)."""
    texts = signals.texts()
    box, box_at = _first(texts, _BOX)
    table, table_at = _first(texts, _TABLE)
    if table is None:
        table, table_at = _first(texts, _FAMILY, _FAMILIES)
    if box is None or table is None:
        said = {"black or white box": box, "single or multi table": table}
        missing = [what for what, found in said.items() if found is None]
        raise Unmapped(
            f"competition.yaml looks like MIDST ({_named(signals)}) but does not say which "
            f"track: {' nor '.join(missing)}; mia-arena ships one definition per MIDST track "
            "(midst-{blackbox,whitebox}-{single,multi}.yaml): name it in the title, e.g. "
            "'MIDST - Black Box Single Table'"
        )
    track = _Midst(box, table)
    places = sorted({box_at, table_at})
    how = (
        f"its title '{signals.title}'"
        if places == [0]
        else "its " + " and ".join(_PLACES[i] for i in places)
    )
    return Target(
        track.name,
        f"definitions/{track.name}.yaml",
        (),
        f"maps to definitions/{track.name}.yaml: MIDST {box} box, {table} table (model types "
        f"{', '.join(track.model_types)}), recognised by {how}",
    )


def _first(
    texts: Sequence[str], pattern: re.Pattern[str], meaning: dict[str, str] | None = None
) -> tuple[str | None, int]:
    """The one value `pattern` finds in the first text naming exactly one, and that text's
    index; (None, -1) when none does.

    A text naming both (`black box and white box`) is skipped: MIDST's own multi-table bundle
    names a white-box task in its black-box competition, and its title settles it.
    """
    for at, text in enumerate(texts):
        found = {m.group(1).lower() for m in pattern.finditer(text)}
        values = {meaning[f] for f in found} if meaning else found
        if len(values) == 1:
            return values.pop(), at
    return None, -1
