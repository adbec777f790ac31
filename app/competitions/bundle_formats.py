"""competition.yaml as CodaLab (v1) and Codabench (`version: 2`) write it, read into plain parts.

Every fault is noted with where it is (`phase 2 ('Final'): start_date ...`) and reading goes
on, so an organizer hears all that is wrong at once. Fields only a program run uses (docker
images, execution limits, ingestion) are left alone: mia-arena scores natively.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
# Codabench's submission rules: which of a participant's submissions the leaderboard shows.
SUBMISSION_RULES = {
    "Force_Last": LeaderboardPolicy.LATEST,
    "Force_Latest_Multiple": LeaderboardPolicy.LATEST,
    "Force_Best": LeaderboardPolicy.BEST,
    "Add": LeaderboardPolicy.LATEST,
    "Add_And_Delete": LeaderboardPolicy.LATEST,
    "Add_And_Delete_Multiple": LeaderboardPolicy.LATEST,
}
PAGE_ROLES = {
    "overview": "overview",
    "data": "data",
    "dataset": "data",
    "getdata": "data",
    "evaluation": "evaluation",
    "scoring": "evaluation",
    "terms": "terms",
    "termsandconditions": "terms",
    "rules": "terms",
}
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
        self.fault(where, f"must hold key: value lines, not {_kind(value)}")
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
            self.fault(where, f"must be a list, not {_kind(value)}")
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
            self.fault(where, f"{key} must be text, not {_kind(value)}")
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
                f"{key} is {_kind(value)}; write a whole number of at least 1, or leave it out",
            )
            return None
        return value

    def flag(self, data: Mapping[Any, Any], key: str, where: str, default: bool) -> bool:
        """A true/false field, `default` when absent."""
        value = data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fault(where, f"{key} is {_kind(value)}; write true or false")
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
            self.fault(where, f"must name a page file, not {_kind(source)}")
            return None
        path = source.strip().removeprefix("./")
        if path.startswith("/") or "/../" in f"/{path}/" or "\\" in path:
            self.fault(where, f"names '{source}', a path outside the bundle; name a file in it")
            return None
        kind = page_format(path)
        if kind is None:
            self.fault(where, f"names {path}, which is neither Markdown (.md) nor HTML (.html)")
            return None
        if path not in self.files.files:
            self.fault(where, f"names {path}, which is not in the bundle{self.hint(path)}")
            return None
        text = self.files.text(path, self.files.reader.limits.max_file_bytes)
        if isinstance(text, Problem):
            self.problems.append(text)
            return None
        return BundlePage(role, title, path, kind, text)

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
            self.fault(where, f"{key} must name a file or folder of the bundle, not {_kind(value)}")
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
        raise ValueError(f"is {_kind(value)}, not a date; write YYYY-MM-DD or YYYY-MM-DD HH:MM")
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


def _kind(value: Any) -> str:
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


def _normalised(title: str) -> str:
    return re.sub(r"[^a-z]", "", title.lower())


def _ordered_phases(fields: Fields, value: Any) -> list[tuple[str, Mapping[Any, Any]]]:
    """CodaLab phases (keyed by number or listed) in phasenumber order, each with its label."""
    phases: list[tuple[int, str, Mapping[Any, Any]]] = []
    for key, raw in fields.items(value, "phases", MAX_PHASES):
        phase = fields.mapping(raw, f"phase {key}")
        number = phase.get("phasenumber", key if isinstance(key, int) else None)
        if isinstance(number, bool) or not isinstance(number, int):
            fields.fault(f"phase {key}", f"phasenumber is {_kind(number)}; number phases 1, 2, ...")
            continue
        phases.append((number, f"phase {number}", phase))
    numbers = [n for n, _, _ in phases]
    if len(numbers) != len(set(numbers)):
        fields.fault("phases", "two phases have the same phasenumber; number them 1, 2, ...")
    return [(where, phase) for _, where, phase in sorted(phases, key=lambda p: p[0])]


def parse_codalab(files: BundleFiles, data: Mapping[Any, Any], fields: Fields) -> Parsed:
    """A CodaLab (v1) competition.yaml, as MICO's codalab-package holds it."""
    title = fields.text(data, "title", "", limit=MAX_TITLE, required=True)
    description = fields.text(data, "description", "", limit=MAX_DESCRIPTION)
    pages = []
    html = fields.mapping(data.get("html") or {}, "html")
    for role, source in fields.items(html, "html", MAX_PAGES):
        name = str(role)
        heading = name.replace("_", " ").capitalize()
        page = fields.page(source, f"html.{name}", heading, PAGE_ROLES.get(_normalised(name)))
        pages.extend([page] if page else [])
    phases = []
    programs: set[str] = set()
    for where, raw in _ordered_phases(fields, data.get("phases")):
        name = fields.text(raw, "label", where, limit=MAX_PHASE_NAME, required=True)
        where = f"{where} ('{name}')" if name else where
        reference = fields.bundled(raw.get("reference_data"), where, "reference_data")
        program = fields.bundled(raw.get("scoring_program"), where, "scoring_program")
        programs |= {program} if program else set()
        split = split_of(name, reference or "")
        size = fields.count(raw, "max_submission_size", where)  # in MB
        if fields.flag(raw, "force_best_submission_to_leaderboard", where, False):
            fields.warn(
                fields.path,
                f"{where}: force_best_submission_to_leaderboard is not applied: the latest "
                "submission counts, as MICO ran it; set the phase's policy to best after the "
                "import to rank each participant's best",
            )
        phases.append(
            BundlePhase(
                name=name,
                description=fields.text(raw, "description", where, limit=MAX_DESCRIPTION),
                start=fields.when(raw, "start_date", where),
                end=None,
                max_per_day=fields.count(raw, "max_submissions_per_day", where),
                max_total=fields.count(raw, "max_submissions", where),
                max_bytes=size * 1024 * 1024 if size else None,
                split=split,
                scored_splits=splits_of(split)[0],
                shown_splits=splits_of(split)[1],
                accepts_uploads=True,
                policy=LeaderboardPolicy.LATEST,
                reference_data=reference,
                scoring_program=program,
            )
        )
    phases = _codalab_ends(fields, phases, fields.when(data, "end_date", ""))
    columns = _codalab_columns(fields, data.get("leaderboard"))
    _programs_not_run(fields, programs)
    return Parsed(
        format="codalab",
        title=title,
        description=description,
        image=_image(fields, data),
        requires_approval=fields.flag(data, "has_registration", "", False),
        allow_teams=fields.flag(data, "allow_teams", "", False),
        pages=_in_role_order(pages),
        phases=phases,
        columns=columns,
        signals=Signals(
            title=title,
            description=description,
            phases=tuple(p.name for p in phases),
            tasks=(),
            task_texts=(),
            column_keys=tuple(c.key for c in columns),
        ),
    )


def _codalab_ends(
    fields: Fields, phases: list[BundlePhase], end: datetime | None
) -> list[BundlePhase]:
    """CodaLab phases have starts only: each ends when the next starts, the last at end_date."""
    out = []
    for phase, after in zip(phases, [*phases[1:], None], strict=False):
        ends = after.start if after else end
        if phase.start and ends and ends <= phase.start:
            what = f"phase '{after.name}' starts" if after else "end_date is"
            fields.fault(
                f"phase '{phase.name}'",
                f"starts {phase.start:%Y-%m-%d %H:%M}, but "
                f"{what} {ends:%Y-%m-%d %H:%M}; phases run one after another",
            )
        out.append(replace(phase, end=ends))
    return out


def _codalab_columns(fields: Fields, value: Any) -> list[BundleColumn]:
    """CodaLab leaderboard columns, ordered as shown: by table rank, then column rank."""
    board = fields.mapping(value or {}, "leaderboard")
    tables = fields.mapping(board.get("leaderboards") or {}, "leaderboard.leaderboards")
    ranked = []
    for key, raw in fields.items(board.get("columns"), "leaderboard.columns", MAX_COLUMNS):
        where = f"leaderboard.columns.{key}"
        column = fields.mapping(raw, where)
        table = column.get("leaderboard")
        table = tables.get(table, {}) if isinstance(table, str) else table
        table = fields.mapping(table or {}, f"{where}.leaderboard")
        sorting = fields.text(column, "sort", where, limit=10) or fields.text(
            column, "sorting", where, limit=10
        )
        ranked.append(
            (
                (_rank(table.get("rank")), _rank(column.get("rank")), str(key)),
                BundleColumn(
                    key=str(key),
                    title=fields.text(column, "label", where, limit=MAX_TITLE) or str(key),
                    leaderboard=fields.text(table, "label", where, limit=MAX_TITLE) or "Results",
                    sorting=_sorting(fields, sorting, where),
                    decimals=_decimals(fields, column.get("numeric_format"), where),
                    hidden=fields.flag(column, "hidden", where, False),
                ),
            )
        )
    return [column for _, column in sorted(ranked, key=lambda r: r[0])]


def _rank(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1_000


def _sorting(fields: Fields, value: str, where: str) -> Literal["desc", "asc"]:
    """`desc` (higher is better, the default) or `asc`."""
    folded = value.lower()
    if folded in ("", "desc", "descending"):
        return "desc"
    if folded in ("asc", "ascending"):
        return "asc"
    fields.fault(where, f"sorting is '{value}'; write desc (higher is better) or asc")
    return "desc"


def _decimals(fields: Fields, value: Any, where: str) -> int | None:
    """Decimals shown, 0 to 10, or None when the bundle leaves it to the default."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        fields.fault(where, f"the number of decimals is {_kind(value)}; write 0 to 10")
        return None
    return value


def _image(fields: Fields, data: Mapping[Any, Any]) -> str | None:
    """The logo's file name; a missing logo is a warning, not a refusal."""
    image = fields.text(data, "image", "", limit=MAX_TITLE)
    if image and not fields.files.has(image):
        fields.warn(fields.path, f"image {image} is not in the bundle; the competition has no logo")
        return None
    return image or None


def _programs_not_run(fields: Fields, programs: set[str]) -> None:
    """One warning for the scoring programs: they are never run."""
    if programs:
        fields.warn(
            fields.path,
            f"scoring program {', '.join(sorted(programs))} is not run: mia-arena scores the "
            "definition's metrics itself, the same numbers as the official program",
        )


@dataclass(frozen=True)
class _Task:
    name: str
    description: str
    reference_data: str | None
    scoring_program: str | None


def parse_codabench(files: BundleFiles, data: Mapping[Any, Any], fields: Fields) -> Parsed:
    """A Codabench (`version: 2`) competition.yaml, as MIDST's four bundles hold it."""
    title = fields.text(data, "title", "", limit=MAX_TITLE, required=True)
    description = fields.text(data, "description", "", limit=MAX_DESCRIPTION)
    tasks = _codabench_tasks(fields, data.get("tasks"))
    columns, policy = _codabench_leaderboards(fields, data.get("leaderboards"))
    phases = []
    for index, raw in fields.items(data.get("phases"), "phases", MAX_PHASES):
        phase = fields.mapping(raw, f"phases[{index}]")
        name = fields.text(phase, "name", f"phases[{index}]", limit=MAX_PHASE_NAME, required=True)
        where = f"phase '{name}'" if name else f"phases[{index}]"
        own = [tasks[t] for t in _task_refs(fields, phase.get("tasks"), tasks, where)]
        start, end = fields.when(phase, "start", where), fields.when(phase, "end", where)
        if start and end and end <= start:
            fields.fault(
                where, f"ends {end:%Y-%m-%d %H:%M}, not after its start {start:%Y-%m-%d %H:%M}"
            )
        split = split_of(name, *(t.name for t in own), *(t.reference_data or "" for t in own))
        phases.append(
            BundlePhase(
                name=name,
                description=fields.text(phase, "description", where, limit=MAX_DESCRIPTION),
                start=start,
                end=end,
                max_per_day=fields.count(phase, "max_submissions_per_day", where),
                max_total=fields.count(phase, "max_submissions", where),
                max_bytes=None,
                split=split,
                scored_splits=splits_of(split)[0],
                shown_splits=splits_of(split)[1],
                accepts_uploads=True,
                policy=policy,
                reference_data=next((t.reference_data for t in own if t.reference_data), None),
                scoring_program=next((t.scoring_program for t in own if t.scoring_program), None),
            )
        )
    _check_order(fields, phases)
    if data.get("fact_sheet"):
        fields.warn(fields.path, "fact_sheet is not imported: participants are not asked it")
    _programs_not_run(fields, {t.scoring_program for t in tasks.values() if t.scoring_program})
    return Parsed(
        format="codabench",
        title=title,
        description=description,
        image=_image(fields, data),
        requires_approval=not fields.flag(data, "registration_auto_approve", "", False),
        allow_teams=None,
        pages=_in_role_order(_codabench_pages(fields, data)),
        phases=phases,
        columns=columns,
        signals=Signals(
            title=title,
            description=description,
            phases=tuple(p.name for p in phases),
            tasks=tuple(t.name for t in tasks.values()),
            task_texts=tuple(t.description for t in tasks.values()),
            column_keys=tuple(c.key for c in columns),
        ),
    )


def _check_order(fields: Fields, phases: list[BundlePhase]) -> None:
    """Phases run one after another: each starts no earlier than the one before ends."""
    for before, after in zip(phases, phases[1:], strict=False):
        limit = before.end or before.start
        if limit and after.start and after.start < limit:
            fields.fault(
                f"phase '{after.name}'",
                f"starts {after.start:%Y-%m-%d %H:%M}, before "
                f"phase '{before.name}' ends or starts; phases run one after another",
            )


def _codabench_tasks(fields: Fields, value: Any) -> dict[Any, _Task]:
    """Tasks by their index (or key), as phases name them."""
    tasks = {}
    for position, raw in fields.items(value, "tasks", MAX_PHASES):
        task = fields.mapping(raw, f"tasks[{position}]")
        index = task.get("index", task.get("key", position))
        if not isinstance(index, int | str) or isinstance(index, bool):
            fields.fault(f"tasks[{position}]", f"index is {_kind(index)}; number tasks 0, 1, ...")
            continue
        where = f"task {index}"
        tasks[index] = _Task(
            name=fields.text(task, "name", where, limit=MAX_TITLE),
            description=fields.text(task, "description", where, limit=MAX_DESCRIPTION),
            reference_data=fields.bundled(task.get("reference_data"), where, "reference_data"),
            scoring_program=fields.bundled(task.get("scoring_program"), where, "scoring_program"),
        )
    return tasks


def _task_refs(fields: Fields, value: Any, tasks: dict[Any, _Task], where: str) -> list[Any]:
    """The tasks a phase names, each one competition.yaml defines."""
    refs = []
    for _, ref in fields.items(value, f"{where}: tasks", MAX_PHASES):
        if isinstance(ref, int | str) and not isinstance(ref, bool) and ref in tasks:
            refs.append(ref)
        else:
            known = ", ".join(str(k) for k in tasks) or "none"
            fields.fault(
                where, f"names task {_kind(ref)}, which tasks: does not define (defined: {known})"
            )
    return refs


def _codabench_leaderboards(
    fields: Fields, value: Any
) -> tuple[list[BundleColumn], LeaderboardPolicy]:
    """The columns of every leaderboard in index order, and the policy of its submission rule."""
    columns: list[BundleColumn] = []
    rules: list[str] = []
    for position, raw in fields.items(value, "leaderboards", MAX_PAGES):
        board = fields.mapping(raw, f"leaderboards[{position}]")
        title = fields.text(board, "title", f"leaderboards[{position}]", limit=MAX_TITLE)
        where = f"leaderboard '{title}'" if title else f"leaderboards[{position}]"
        rule = fields.text(board, "submission_rule", where, limit=40)
        if rule and rule not in SUBMISSION_RULES:
            fields.fault(
                where,
                f"submission_rule is '{rule}'; Codabench's rules are {', '.join(SUBMISSION_RULES)}",
            )
        rules.extend([rule] if rule in SUBMISSION_RULES else [])
        ranked = []
        for i, raw_column in fields.items(board.get("columns"), f"{where}: columns", MAX_COLUMNS):
            column = fields.mapping(raw_column, f"{where}: columns[{i}]")
            key = fields.text(column, "key", f"{where}: columns[{i}]", limit=100, required=True)
            at = f"{where}: column '{key}'"
            ranked.append(
                (
                    (_rank(column.get("index")), i),
                    BundleColumn(
                        key=key,
                        title=fields.text(column, "title", at, limit=MAX_TITLE) or key,
                        leaderboard=title or "Results",
                        sorting=_sorting(fields, fields.text(column, "sorting", at, limit=10), at),
                        decimals=_decimals(fields, column.get("precision"), at),
                        hidden=fields.flag(column, "hidden", at, False),
                    ),
                )
            )
        columns.extend(c for _, c in sorted(ranked, key=lambda r: r[0]))
    return columns, _policy(fields, rules)


def _policy(fields: Fields, rules: list[str]) -> LeaderboardPolicy:
    """The policy of the first leaderboard's rule; `latest` when none is set (Codabench's)."""
    if not rules:
        return LeaderboardPolicy.LATEST
    if rules[0].startswith("Add"):
        fields.warn(
            fields.path,
            f"submission_rule {rules[0]} lets participants pick what shows; mia-arena ranks "
            "each participant's latest submission: allow pinning on the phase after the import "
            "to let them choose",
        )
    if len(set(rules)) > 1:
        fields.warn(
            fields.path,
            f"leaderboards have different submission rules; {rules[0]} applies to every phase",
        )
    return SUBMISSION_RULES[rules[0]]


def _in_role_order(pages: list[BundlePage]) -> list[BundlePage]:
    """Overview, data, evaluation and terms first, as the competition's tabs show them."""
    order = ["overview", "data", "evaluation", "terms"]
    return sorted(pages, key=lambda p: order.index(p.role) if p.role in order else len(order))


def _codabench_pages(fields: Fields, data: Mapping[Any, Any]) -> list[BundlePage]:
    """The terms file and the pages list, each given its role by its title."""
    pages = []
    if data.get("terms") is not None:
        terms = fields.page(data.get("terms"), "terms", "Terms", "terms")
        pages.extend([terms] if terms else [])
    for i, raw in fields.items(data.get("pages"), "pages", MAX_PAGES):
        entry = fields.mapping(raw, f"pages[{i}]")
        title = fields.text(entry, "title", f"pages[{i}]", limit=MAX_TITLE, required=True)
        where = f"page '{title}'" if title else f"pages[{i}]"
        role = PAGE_ROLES.get(_normalised(title))
        taken = {p.role for p in pages}
        page = fields.page(entry.get("file"), where, title, None if role in taken else role)
        pages.extend([page] if page else [])
    return pages
