"""A competition from a CodaLab or Codabench bundle: MICO's `codalab-package` or one of MIDST's
Codabench bundles becomes a competition with the bundle's title, pages, phases (dates and
limits) and leaderboard columns, on the shipped definition the bundle maps to.

First `plan_bundle` (nothing stored): the bundle read and mapped (`bundles.read_bundle`), its
definition loaded, the labels read from its phases' reference data (or from a truth zip the
organizer gives), the creation preview and what will be stored from the bundle. Then
`create_from_bundle` stores it in one transaction, audited. The scoring program is never run.

Pages: Markdown is stored as it is; an HTML page is turned into Markdown (text, headings,
lists, links, emphasis), everything else of it (scripts, styles, frames, attributes) dropped.
The Markdown renderer passes no raw HTML and sanitises its output, so nothing of a bundle's
page can run script in a visitor's browser either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy.orm import Session

from app.competitions import audit, creation
from app.competitions.bundles import (
    BundlePage,
    BundlePhase,
    BundleRefused,
    ImportedBundle,
    read_bundle,
    reference_zip,
)
from app.core.errors import Invalid
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import LeaderboardPolicy, Phase
from app.models.user import User
from app.scoring.definition import MICO, Definition, DefinitionError, tpr_key
from app.scoring.definition import Phase as DefinedPhase
from app.scoring.problems import InvalidInput, Problem
from app.scoring.readers import GroundTruth as Labels
from app.scoring.readers import SplitArrays, read_truth_zip

# The shipped definitions: beside the package in a checkout and in the image (/srv/mia-arena).
DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
ROLES = ("overview", "data", "evaluation", "terms")
MAX_PAGE = 100_000  # what the competition's settings page takes for one page
_METRICS = ("AUC", "MIA", "accuracy")
_COLUMN_PREFIX = re.compile(r"^(?:scenario\d+|average|mean)_", re.I)


@dataclass(frozen=True)
class ImportedPhase:
    """A phase as it will be stored: the bundle's dates and limits, else the definition's."""

    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    accepts_uploads: bool
    scored_splits: tuple[str, ...]
    shown_splits: tuple[str, ...]
    max_per_day: int
    max_total: int
    max_bytes: int
    policy: LeaderboardPolicy


@dataclass(frozen=True)
class MappedColumn:
    """A leaderboard column of the bundle and the metric key it shows (None: not mapped)."""

    key: str
    title: str
    metric: str | None


@dataclass(frozen=True)
class BundlePlan:
    """What importing a bundle will store, checked whole; nothing stored yet."""

    bundle: ImportedBundle
    preview: creation.Preview  # tracks, scenarios, labels; its definition has the columns
    pages: dict[str, str]  # role -> Markdown, as stored in `{role}_md`
    phases: tuple[ImportedPhase, ...]
    columns: tuple[MappedColumn, ...]
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def definition(self) -> Definition:
        """The definition the competition is created with (the bundle's columns shown)."""
        return self.preview.definition

    @property
    def mapping_note(self) -> str:
        """Which shipped definition the bundle maps to, and why."""
        return self.bundle.mapping_note

    @property
    def requires_approval(self) -> bool:
        """Whether registrations wait for the organizers, as the bundle says."""
        return self.bundle.requires_approval


def plan_bundle(
    session: Session,
    data: bytes,
    name: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    truth: tuple[bytes, str] | None = None,
) -> BundlePlan:
    """Read `data` (the bundle zip called `name`), map it, read its labels and preview the
    competition. BundleRefused (the bundle's faults), Invalid or Conflict (slug, title,
    labels) naming the file otherwise; nothing is stored."""
    bundle = read_bundle(data, name)
    base = load_definition(bundle)
    columns = tuple(_map_column(c.key, c.title, base) for c in bundle.columns if not c.hidden)
    definition = _with_columns(base, columns)
    phases, phase_notes = _phases(bundle, definition)
    pages, page_notes = _pages(bundle)
    labels = _only_tracks(_labels(bundle, data, definition, truth), bundle, truth)
    preview = creation.preview(
        session,
        definition,
        labels,
        slug=slug or _default_slug(bundle, definition),
        title=title or bundle.title,
    )
    unmapped = [
        Problem(
            name,
            f"leaderboard column {c.key} ('{c.title}') maps to no metric of "
            f"{definition.slug}; it is not shown",
        )
        for c in columns
        if c.metric is None
    ]
    return BundlePlan(
        bundle=bundle,
        preview=preview,
        pages=pages,
        phases=phases,
        columns=columns,
        warnings=(*bundle.warnings, *phase_notes, *page_notes, *unmapped, *_over(name, phases)),
    )


def create_from_bundle(
    session: Session, plan: BundlePlan, now: datetime, actor: User | None = None
) -> Competition:
    """Store the planned competition: tracks, scenarios and labels as `creation.create` does,
    with the bundle's pages, phases and approval rule; audited as competition.import-bundle."""
    preview = plan.preview
    competition = creation.new_competition(session, preview.slug, preview.title, plan.definition)
    for role, text in plan.pages.items():
        setattr(competition, f"{role}_md", text)
    competition.requires_approval = plan.requires_approval
    creation.store_truth(session, competition, preview)
    session.add_all(_phase_row(competition, phase, now) for phase in plan.phases)
    session.flush()
    audit.record(
        session,
        competition,
        actor,
        "competition.import-bundle",
        {
            "source": plan.bundle.source,
            "format": plan.bundle.format,
            "definition": plan.bundle.definition,
            "definition_file": plan.bundle.definition_file,
            "mapping": plan.mapping_note,
            "tracks": [t.name for t in preview.tracks],
            "phases": [p.name for p in plan.phases],
            "shown_metrics": list(plan.definition.shown_metrics),
            "warnings": [str(w) for w in plan.warnings],
            "truth_sha256": preview.truth_sha256,
        },
    )
    return competition


def load_definition(bundle: ImportedBundle) -> Definition:
    """The definition a bundle maps to: MICO's built-in one, or a shipped definition file."""
    if bundle.definition_file is None:
        return MICO
    path = DEFINITIONS / Path(bundle.definition_file).name
    try:
        return Definition.load(path)
    except (OSError, DefinitionError) as exc:
        raise Invalid(
            f"{bundle.source} maps to {bundle.definition_file}, which cannot be read here "
            f"({exc}); reinstall mia-arena with its definitions/ folder"
        ) from None


def described(plan: BundlePlan) -> list[str]:
    """What the import stores, as lines: columns, pages and phases (tracks are the preview's)."""
    shown = [c.metric for c in plan.columns if c.metric]
    lines = [
        f"leaderboard shows: {', '.join(plan.definition.shown_metrics) or 'every metric'}"
        + (
            f" (from the bundle's columns {', '.join(c.key for c in plan.columns)})"
            if shown
            else ""
        )
    ]
    pages = [f"{role} ({len(text):,} characters)" for role, text in plan.pages.items()]
    lines.append("pages: " + (", ".join(pages) or "none (the definition's defaults)"))
    lines.append(
        "registration: " + ("approved by the organizers" if plan.requires_approval else "open")
    )
    for phase in plan.phases:
        dates = f"from {_day(phase.starts_at)}" + (
            f" to {_day(phase.ends_at)}" if phase.ends_at else ""
        )
        uploads = (
            f"uploads ({_limit(phase.max_per_day)} a day, {_limit(phase.max_total)} in all)"
            if phase.accepts_uploads
            else "no uploads"
        )
        shown_splits = "/".join(phase.shown_splits) or "nothing until the reveal"
        lines.append(
            f"phase {phase.name}: {dates}, {uploads}, scores {'/'.join(phase.scored_splits)}, "
            f"shows {shown_splits}, {phase.policy.value} submission counts"
        )
    return lines


# --- labels ------------------------------------------------------------------------------


def _labels(
    bundle: ImportedBundle,
    data: bytes,
    definition: Definition,
    truth: tuple[bytes, str] | None,
) -> Labels:
    """The labels of the given truth zip, or of the reference data the bundle's phases name
    (MICO: one zip a split, merged; MIDST: one `data/` folder for both phases)."""
    if truth is not None:
        return _read_labels(*truth, definition)
    paths = list(dict.fromkeys(p.reference_data for p in bundle.phases if p.reference_data))
    present = [p for p in paths if _has_part(data, bundle.source, p)]
    if not present:
        where = f" ({', '.join(paths)} is not in it)" if paths else ""
        raise BundleRefused(
            bundle.source,
            [
                Problem(
                    bundle.source,
                    f"holds no reference data for its phases{where}; give the ground truth "
                    "as a zip (--truth ZIP, or the truth field of the form)",
                )
            ],
        )
    found = [_read_labels(reference_zip(data, bundle.source, p), p, definition) for p in present]
    return _merged(found)


def _has_part(data: bytes, name: str, path: str) -> bool:
    """True when the bundle holds the file or folder `path` (reference data may be absent)."""
    try:
        reference_zip(data, name, path)
    except BundleRefused:
        return False
    return True


def _read_labels(data: bytes, name: str, definition: Definition) -> Labels:
    """Labels from a zip; the reader's problems, each naming its file, otherwise."""
    try:
        return read_truth_zip(data, name, definition=definition)
    except InvalidInput as exc:
        raise Invalid(f"the ground truth in {name} is not valid:\n{exc}") from None


def _merged(parts: Iterable[Labels]) -> Labels:
    """Labels of several zips as one: each (scenario, split) once, tracks in order seen."""
    labels: SplitArrays = {}
    tracks: list[str] = []
    for part in parts:
        labels.update(part.labels)
        tracks += [t for t in part.tracks if t not in tracks]
    return Labels(labels=labels, tracks=tuple(tracks))


def _only_tracks(labels: Labels, bundle: ImportedBundle, truth: tuple[bytes, str] | None) -> Labels:
    """The labels of the tracks the bundle is (MICO shipped one bundle per track); refused
    when the labels lack one of them."""
    if not bundle.tracks:
        return labels
    missing = [t for t in bundle.tracks if t not in labels.tracks]
    if missing:
        source = truth[1] if truth else bundle.source
        raise Invalid(
            f"{source} holds no labels of track {', '.join(missing)}, which {bundle.source} is "
            f"(its labels hold {', '.join(labels.tracks) or 'no track'})"
        )
    return Labels(labels=labels.labels, tracks=tuple(bundle.tracks))


def _default_slug(bundle: ImportedBundle, definition: Definition) -> str:
    """The definition's slug, with the tracks of a one-track bundle: `mico-cifar10`."""
    return "-".join((definition.slug, *bundle.tracks)).replace("_", "-")[:64]


# --- columns -----------------------------------------------------------------------------


def _map_column(key: str, title: str, definition: Definition) -> MappedColumn:
    """The metric a column shows: MICO's `scenario1_TPR_FPR_1000` and `average_AUC` by their
    metric part, MIDST's `tpr_at_fpr` by the definition's Codabench keys."""
    metrics = (*definition.tpr_keys, *_METRICS)
    named = definition.codabench.get(key)
    if named is not None:
        return MappedColumn(
            key, title, definition.ranking_key if named == "ranking_score" else named
        )
    bare = _COLUMN_PREFIX.sub("", key)
    metric = next((m for m in metrics if m.lower() == bare.lower()), None)
    if metric is None and bare.lower() in ("ranking_score", "score"):
        metric = tpr_key(definition.ranking_threshold)
    return MappedColumn(key, title, metric)


def _with_columns(definition: Definition, columns: tuple[MappedColumn, ...]) -> Definition:
    """The definition showing the metrics the bundle's columns show, in the columns' order
    (the definition's own when none maps); MICO stays the built-in one when they agree."""
    shown = tuple(dict.fromkeys(c.metric for c in columns if c.metric))
    if not shown or set(shown) == set(definition.shown_metrics):
        return definition
    return replace(definition, shown_metrics=shown)


# --- phases ------------------------------------------------------------------------------


def _phases(
    bundle: ImportedBundle, definition: Definition
) -> tuple[tuple[ImportedPhase, ...], list[Problem]]:
    """The bundle's phases, with the definition's splits and limits where the bundle is
    silent (the definition's phase of the same split, else of the same place)."""
    specs = definition.phases or MICO.phases
    names = [p.name for p in bundle.phases]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BundleRefused(
            bundle.source,
            [
                Problem(bundle.source, f"two phases are called '{n}'; a phase's name is its own")
                for n in twice
            ],
        )
    notes: list[Problem] = []
    phases = []
    for i, phase in enumerate(bundle.phases):
        spec = _matching(phase, specs, i)
        scored, shown = phase.scored_splits, phase.shown_splits
        if not scored:
            if spec is None:
                raise BundleRefused(
                    bundle.source,
                    [
                        Problem(
                            bundle.source,
                            f"phase '{phase.name}' names neither dev nor final and "
                            f"{definition.slug} has no phase {i + 1} to take its splits from; "
                            "name the split in the phase's name",
                        )
                    ],
                )
            scored = spec.carries if spec.uploads else spec.shown
            shown = () if i == len(bundle.phases) - 1 else spec.shown
            notes.append(
                Problem(
                    bundle.source,
                    f"phase '{phase.name}' takes its splits from the definition's phase "
                    f"'{spec.name}': scores {'/'.join(scored)}, shows {'/'.join(shown) or 'none'}",
                )
            )
        phases.append(
            ImportedPhase(
                name=phase.name,
                starts_at=phase.start,
                ends_at=phase.end,
                accepts_uploads=phase.accepts_uploads,
                scored_splits=scored,
                shown_splits=shown,
                max_per_day=_limit_of(phase.max_per_day, spec.per_day if spec else None),
                max_total=_limit_of(phase.max_total, spec.total if spec else None),
                max_bytes=phase.max_bytes or definition.max_submission_bytes,
                policy=phase.policy,
            )
        )
    _check_splits(bundle, definition, phases)
    return tuple(phases), notes


def _over(name: str, phases: tuple[ImportedPhase, ...]) -> list[Problem]:
    """A warning when no phase taking uploads is running or to come: the bundle's dates are
    those of a competition that has ended (MICO's and MIDST's are)."""
    now = utcnow()
    taking = [p for p in phases if p.accepts_uploads]
    if any(p.ends_at is None or p.ends_at > now for p in taking) or not taking:
        return []
    return [
        Problem(
            name,
            "every phase taking uploads ended before today, so the competition takes none as "
            "imported; set new dates on its Phases page to run it again",
        )
    ]


def _matching(phase: BundlePhase, specs: tuple[DefinedPhase, ...], at: int) -> DefinedPhase | None:
    """The definition's phase that shows the bundle phase's split, else the one in its place."""
    if phase.split is not None:
        for spec in specs:
            if spec.shown == (phase.split,):
                return spec
    return specs[at] if at < len(specs) else None


def _limit_of(declared: int | None, defined: int | None) -> int:
    if declared is not None:
        return declared
    return creation.UNLIMITED if defined is None else defined


def _check_splits(
    bundle: ImportedBundle, definition: Definition, phases: list[ImportedPhase]
) -> None:
    """Refuse phases scoring splits the definition's stored labels do not cover."""
    kept = set(creation.hidden_splits(definition))
    wrong = [p for p in phases if not set(p.scored_splits) <= kept]
    if wrong:
        raise BundleRefused(
            bundle.source,
            [
                Problem(
                    bundle.source,
                    f"phase '{p.name}' scores {'/'.join(p.scored_splits)}, but {definition.slug} "
                    f"keeps labels of {'/'.join(sorted(kept))} only",
                )
                for p in wrong
            ],
        )


def _phase_row(competition: Competition, phase: ImportedPhase, now: datetime) -> Phase:
    return Phase(
        competition_id=competition.id,
        name=phase.name,
        starts_at=phase.starts_at,
        ends_at=phase.ends_at,
        accepts_uploads=phase.accepts_uploads,
        scored_splits=list(phase.scored_splits),
        shown_splits=list(phase.shown_splits),
        max_per_day=phase.max_per_day,
        max_total=phase.max_total,
        max_bytes=phase.max_bytes,
        leaderboard_policy=phase.policy,
    )


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "no date set"


def _limit(value: int) -> str:
    return "no limit" if value >= creation.UNLIMITED else str(value)


# --- pages -------------------------------------------------------------------------------


def _pages(bundle: ImportedBundle) -> tuple[dict[str, str], list[Problem]]:
    """The bundle's pages by role, as Markdown; the description opens the overview."""
    notes: list[Problem] = []
    pages: dict[str, str] = {}
    for page in bundle.pages:
        if page.role not in ROLES or page.role in pages:
            notes.append(
                Problem(
                    page.source,
                    f"page '{page.title}' is not imported: a competition has overview, data, "
                    "evaluation and terms pages; add it to one of them after the import",
                )
            )
            continue
        pages[page.role] = _markdown(page)
    description = bundle.description.strip()
    overview = pages.get("overview", "")
    if description and _words(description) not in _words(overview):
        pages["overview"] = f"{_escaped(description)}\n\n{overview}".strip() + "\n"
    for role, text in list(pages.items()):
        if len(text) > MAX_PAGE:
            notes.append(
                Problem(
                    bundle.source,
                    f"the {role} page is {len(text):,} characters; the first {MAX_PAGE:,} are kept",
                )
            )
            pages[role] = text[:MAX_PAGE]
    return pages, notes


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _markdown(page: BundlePage) -> str:
    """A page as Markdown: HTML converted (see `HtmlToMarkdown`), Markdown as it is."""
    if page.format == "markdown":
        return page.text
    return html_to_markdown(page.text)


def html_to_markdown(html: str) -> str:
    """Markdown of an HTML page's text, headings, paragraphs, lists, links, emphasis, code
    and tables; scripts, styles and every attribute but a link's address dropped."""
    converter = HtmlToMarkdown()
    converter.feed(html)
    converter.close()
    return converter.result()


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _escaped(text: str) -> str:
    """Text that Markdown shows as it is (no emphasis, links or headings made of it)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


class HtmlToMarkdown(HTMLParser):
    """A small HTML to Markdown converter for bundle pages (CodaLab's were HTML)."""

    # Tags whose content is never shown, and those that start a block of their own.
    _DROPPED = frozenset(
        "script style iframe object embed noscript template head title svg math form select "
        "textarea button".split()
    )
    _BLOCKS = frozenset(
        "p div section article header footer main blockquote table ul ol dl figure hr".split()
    )
    _EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropped = 0  # depth inside tags whose content is never shown
        self.pre = 0
        self.code = False  # inside inline code: text as it is, no escapes
        self.lists: list[list[int]] = []  # per open list: [next number] or [] (bullets)
        self.links: list[str | None] = []
        self.row: list[str] | None = None
        self.rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._DROPPED:
            self.dropped += 1
            return
        if self.dropped:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._block("#" * int(tag[1]) + " ")
        elif tag in self._BLOCKS:
            self._block()
            if tag in ("ul", "ol"):
                self.lists.append([1] if tag == "ol" else [])
            elif tag == "hr":
                self._block("---")
                self._block()
            elif tag == "table":
                self.rows = 0
        elif tag == "li":
            self._line("  " * max(len(self.lists) - 1, 0) + self._bullet())
        elif tag == "br":
            self.out.append("  \n" if not self.pre else "\n")
        elif tag in self._EMPHASIS:
            self.out.append(self._EMPHASIS[tag])
        elif tag == "code" and not self.pre:
            self.out.append("`")
            self.code = True
        elif tag == "pre":
            self._block("```\n")
            self.pre += 1
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            safe = href if re.match(r"(https?:|mailto:)", href.strip(), re.I) else None
            self.links.append(safe)
            if safe:
                self.out.append("[")
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.row.append("")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.handle_data(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._DROPPED:
            self.dropped = max(self.dropped - 1, 0)
            return
        if self.dropped:
            return
        if re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCKS:
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            self._block()
        elif tag in self._EMPHASIS:
            self.out.append(self._EMPHASIS[tag])
        elif tag == "code" and not self.pre:
            self.out.append("`")
            self.code = False
        elif tag == "pre" and self.pre:
            self.pre -= 1
            self.out.append("\n```")
            self._block()
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.out.append(f"]({href.strip().replace(' ', '%20').replace(')', '%29')})")
        elif tag == "tr" and self.row is not None:
            self._table_row(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.dropped:
            return
        if self.pre:
            self.out.append(data.replace("```", "'''"))
            return
        text = re.sub(r"\s+", " ", data)
        text = text.replace("`", "'") if self.code else _escaped(text)
        if self.row is not None and self.row:
            self.row[-1] += text
            return
        if not self.out or self.out[-1].endswith(("\n", " ")):
            text = text.lstrip()
        self.out.append(text)

    def result(self) -> str:
        text = "".join(self.out)
        text = re.sub(r"[ \t]+\n", lambda m: "  \n" if m.group(0).startswith("  ") else "\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.strip() + "\n" if text.strip() else ""

    def _block(self, opening: str = "") -> None:
        """End the current block with a blank line, then start one with `opening`."""
        self.out.append("\n\n" + opening)

    def _line(self, opening: str) -> None:
        self.out.append("\n" + opening)

    def _bullet(self) -> str:
        if self.lists and self.lists[-1]:
            number = self.lists[-1][0]
            self.lists[-1][0] += 1
            return f"{number}. "
        return "- "

    def _table_row(self, cells: list[str]) -> None:
        self._line("| " + " | ".join(c.strip() for c in cells) + " |")
        if self.rows == 0:
            self._line("|" + " --- |" * len(cells))
        self.rows += 1
