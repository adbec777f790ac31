"""The parts of an imported bundle (pages, phases, columns) and the typed reading of
competition.yaml's fields: every fault noted with where it is (`phase 2 ('Final'):
start_date ...`) and reading goes on, so an organizer hears all that is wrong at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from app.competitions.bundle_files import BundleFiles
from app.competitions.bundle_mapping import Signals
from app.models.phase import LeaderboardPolicy
from app.scoring.problems import Problem

MAX_TITLE = 200  # the competitions table's title column
MAX_PHASE_NAME = 64  # the phases table's name column
MAX_DESCRIPTION = 20_000
MAX_PHASES = 20
MAX_COLUMNS = 200
MAX_PAGES = 20
DEV_WORDS = {"dev", "development", "validation", "feedback", "public"}
FINAL_WORDS = {"final", "test", "private"}
_US_DATE = re.compile(r"^(\d{1,2})[-/](\d{1,2})[-/](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass(frozen=True)
class BundlePage:
    """One page of the bundle, as text to show (Markdown, or HTML to sanitise first)."""

    role: str | None  # "overview", "data", "evaluation", "terms"; None for any other page
    title: str
    source: str  # the file inside the bundle, e.g. "overview.html", "pages/terms.md"
    format: Literal["markdown", "html"]
    text: str


@dataclass(frozen=True)
class BundlePhase:
    """One phase: its dates and limits, and which splits it carries and shows when known."""

    name: str
    description: str
    start: datetime | None  # aware, UTC
    end: datetime | None
    max_per_day: int | None  # None: the bundle sets no limit (use the definition's)
    max_total: int | None
    max_bytes: int | None
    split: str | None  # "dev" or "final" when the bundle says which; None if it does not
    scored_splits: tuple[str, ...]  # empty when `split` is unknown
    shown_splits: tuple[str, ...]
    accepts_uploads: bool
    policy: LeaderboardPolicy
    reference_data: str | None  # where its ground truth sits in the bundle (not read here)
    scoring_program: str | None  # never run


@dataclass(frozen=True)
class BundleColumn:
    """A leaderboard column: the score key, its title, sort order and decimals."""

    key: str
    title: str
    leaderboard: str  # the title of the leaderboard (table) it belongs to
    sorting: Literal["desc", "asc"]
    decimals: int | None
    hidden: bool = False


@dataclass
class Parsed:
    """What competition.yaml says, before it is mapped to a definition."""

    format: Literal["codalab", "codabench"]
    title: str
    description: str
    image: str | None
    requires_approval: bool
    allow_teams: bool | None
    pages: list[BundlePage]
    phases: list[BundlePhase]
    columns: list[BundleColumn]
    signals: Signals


class Fields:
    """Reads typed fields out of competition.yaml, noting each fault instead of stopping."""

    def __init__(self, files: BundleFiles) -> None:
        self.files = files
        self.path = files.shown(files.yaml_name)
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def fault(self, where: str, message: str) -> None:
        """Note a fault of competition.yaml at `where` (empty: the top level)."""
        self.problems.append(Problem(self.path, f"{where}: {message}" if where else message))

    def warn(self, path: str, message: str) -> None:
        """Note something not imported, which the organizer should know about."""
        self.warnings.append(Problem(path, message))

    def mapping(self, value: Any, where: str) -> Mapping[Any, Any]:
        """`value` if it is a mapping; else a fault and an empty one."""
        if isinstance(value, dict):
            return value
        self.fault(where, f"must hold key: value lines, not {kind(value)}")
        return {}

    def items(self, value: Any, where: str, limit: int) -> list[tuple[Any, Any]]:
        """The entries of a list (index, item) or a mapping (key, item), at most `limit`."""
        if value is None:
            return []
        if isinstance(value, dict):
            entries = list(value.items())
        elif isinstance(value, list):
            entries = list(enumerate(value))
        else:
            self.fault(where, f"must be a list, not {kind(value)}")
            return []
        if len(entries) > limit:
            self.fault(where, f"has {len(entries)} entries, over the {limit} a competition needs")
            return []
        return entries

    def text(
        self, data: Mapping[Any, Any], key: str, where: str, *, limit: int, required: bool = False
    ) -> str:
        """A text field, stripped; "" when absent (a fault if `required`)."""
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.fault(where, f"{key} is missing")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fault(where, f"{key} must be text, not {kind(value)}")
            return ""
        text = str(value).strip()
        if len(text) > limit:
            self.fault(where, f"{key} is {len(text):,} characters, over the {limit:,} allowed")
            return ""
        return text

    def count(self, data: Mapping[Any, Any], key: str, where: str) -> int | None:
        """A limit of at least 1, or None when absent."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fault(
                where,
                f"{key} is {kind(value)}; write a whole number of at least 1, or leave it out",
            )
            return None
        return value

    def flag(self, data: Mapping[Any, Any], key: str, where: str, default: bool) -> bool:
        """A true/false field, `default` when absent."""
        value = data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fault(where, f"{key} is {kind(value)}; write true or false")
            return default
        return value

    def when(self, data: Mapping[Any, Any], key: str, where: str) -> datetime | None:
        """A date or date and time, in UTC (a time without a zone is UTC); None when absent."""
        value = data.get(key)
        if value is None or value == "":
            return None
        try:
            return parse_when(value)
        except ValueError as exc:
            self.fault(where, f"{key} {exc}")
            return None

    def page(self, source: Any, where: str, title: str, role: str | None) -> BundlePage | None:
        """The page a field names, read from the bundle; None (and a fault) if it cannot be."""
        if not isinstance(source, str) or not source.strip():
            self.fault(where, f"must name a page file, not {kind(source)}")
            return None
        path = source.strip().removeprefix("./")
        if path.startswith("/") or "/../" in f"/{path}/" or "\\" in path:
            self.fault(where, f"names '{source}', a path outside the bundle; name a file in it")
            return None
        page_kind = page_format(path)
        if page_kind is None:
            self.fault(where, f"names {path}, which is neither Markdown (.md) nor HTML (.html)")
            return None
        if path not in self.files.files:
            self.fault(where, f"names {path}, which is not in the bundle{self.hint(path)}")
            return None
        text = self.files.text(path, self.files.reader.limits.max_file_bytes)
        if isinstance(text, Problem):
            self.problems.append(text)
            return None
        return BundlePage(role, title, path, page_kind, text)

    def hint(self, path: str) -> str:
        """What the organizer may have meant: a close file name, or what the top holds."""
        stem = path.rsplit("/", 1)[-1].split(".")[0].lower()
        names = [f for f in self.files.files if f.rsplit("/", 1)[-1].lower().startswith(stem)]
        same_start = names if stem else []
        close = same_start or difflib.get_close_matches(path, list(self.files.files), 1, 0.75)
        if close:
            return f" (did you mean {close[0]}?)"
        top = self.files.top_level()
        return f"; its top holds: {', '.join(top[:10])}" + (", ..." if len(top) > 10 else "")

    def bundled(self, value: Any, where: str, key: str) -> str | None:
        """A part of the bundle a phase or task names (reference data, scoring program)."""
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.fault(where, f"{key} must name a file or folder of the bundle, not {kind(value)}")
            return None
        path = value.strip().removeprefix("./")
        if not self.files.has(path):
            self.warn(
                self.path,
                f"{where}: {key} {path} is not in the bundle (a dataset kept on the server?); "
                "nothing of it is imported",
            )
        return path


def page_format(path: str) -> Literal["markdown", "html"] | None:
    """A page's format by its file name; None for anything else."""
    suffix = path.lower().rsplit(".", 1)[-1] if "." in path else ""
    if suffix in ("md", "markdown", "txt"):
        return "markdown"
    if suffix in ("html", "htm"):
        return "html"
    return None


def parse_when(value: Any) -> datetime:
    """A YAML date or time, or text as CodaLab (ISO) and Codabench (also MM-DD-YYYY) take it.

    ValueError says what is wrong, to follow the field's name.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = _parse_text_date(value.strip())
    else:
        raise ValueError(f"is {kind(value)}, not a date; write YYYY-MM-DD or YYYY-MM-DD HH:MM")
    if not 2000 <= moment.year <= 2100:
        raise ValueError(f"is in the year {moment.year}; write a four-digit year")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_text_date(text: str) -> datetime:
    """ISO 8601, or MM-DD-YYYY[ HH:MM[:SS]] as MIDST wrote its phases (Codabench reads it so)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    match = _US_DATE.match(text)
    if match:
        month, day, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            return datetime(year, month, day, hour, minute, second)
        except ValueError as exc:
            raise ValueError(f"'{text}' is not a date ({exc}); dates read MM-DD-YYYY") from None
    shown = text if len(text) <= 40 else text[:37] + "..."
    raise ValueError(f"'{shown}' is not a date; write YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")


def split_of(*texts: str) -> str | None:
    """`dev` or `final` by the first text whose words name exactly one of them."""
    for text in texts:
        words = set(re.findall(r"[a-z]+", text.lower()))
        dev, final = bool(words & DEV_WORDS), bool(words & FINAL_WORDS)
        if dev != final:
            return "dev" if dev else "final"
    return None


def splits_of(split: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The splits a phase scores and shows: dev phases score final too, never showing it.

    Submissions carry dev and final predictions (MICO's and MIDST's alike); final is shown
    only when the organizers reveal it.
    """
    if split == "dev":
        return ("dev", "final"), ("dev",)
    if split == "final":
        return ("final",), ()
    return (), ()


def kind(value: Any) -> str:
    """A value named for a message without printing it whole (it may be an alias bomb)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "empty"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return f"'{value[:40]}...'" if len(value) > 40 else f"'{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"
