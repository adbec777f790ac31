"""competition.yaml as CodaLab (v1) and Codabench (`version: 2`) write it, read into plain parts.

Fields only a program run uses (docker images, execution limits, ingestion, starting kits) are
left alone: mia-arena scores natively.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from app.competitions.bundle_fields import (
    MAX_COLUMNS,
    MAX_DESCRIPTION,
    MAX_PAGES,
    MAX_PHASE_NAME,
    MAX_PHASES,
    MAX_TITLE,
    BundleColumn,
    BundlePage,
    BundlePhase,
    Fields,
    Parsed,
    kind,
    split_of,
    splits_of,
)
from app.competitions.bundle_files import BundleFiles
from app.competitions.bundle_mapping import Signals
from app.models.phase import LeaderboardPolicy

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


def _normalised(title: str) -> str:
    return re.sub(r"[^a-z]", "", title.lower())


def _ordered_phases(fields: Fields, value: Any) -> list[tuple[str, Mapping[Any, Any]]]:
    """CodaLab phases (keyed by number or listed) in phasenumber order, each with its label."""
    phases: list[tuple[int, str, Mapping[Any, Any]]] = []
    for key, raw in fields.items(value, "phases", MAX_PHASES):
        phase = fields.mapping(raw, f"phase {key}")
        number = phase.get("phasenumber", key if isinstance(key, int) else None)
        if isinstance(number, bool) or not isinstance(number, int):
            fields.fault(f"phase {key}", f"phasenumber is {kind(number)}; number phases 1, 2, ...")
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
        fields.fault(where, f"the number of decimals is {kind(value)}; write 0 to 10")
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
            fields.fault(f"tasks[{position}]", f"index is {kind(index)}; number tasks 0, 1, ...")
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
                where, f"names task {kind(ref)}, which tasks: does not define (defined: {known})"
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
