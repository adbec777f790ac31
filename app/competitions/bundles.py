"""Importing a CodaLab or Codabench competition bundle: read, checked and mapped, never stored.

A bundle is the zip an organizer uploaded to CodaLab (MICO's `codalab-package`) or Codabench
(MIDST's four `codabench_bundles`): `competition.yaml` at its top, its pages, and the parts a
program run needs. `read_bundle` turns it into an `ImportedBundle`: the title, pages, phases
and leaderboard columns it declares, and the shipped definition it maps to. The scoring
program is never run; a bundle of a competition mia-arena does not know is refused with what
to do instead, and so is a hostile one (zip bombs, paths out of the archive, object-building
YAML tags), each fault naming the file.

Storing the competition (with its ground truth) is the competitions service's job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from app.competitions.bundle_fields import BundleColumn, BundlePage, BundlePhase, Fields, Parsed
from app.competitions.bundle_files import (
    BUNDLE_LIMITS,
    MAX_REFERENCE_BYTES,
    BundleFiles,
    BundleRefused,
)
from app.competitions.bundle_formats import parse_codabench, parse_codalab
from app.competitions.bundle_mapping import Target, Unmapped, map_bundle
from app.scoring.archive import Limits, read_zip_file
from app.scoring.problems import InvalidInput, Problem

__all__ = [
    "BUNDLE_LIMITS",
    "BundleColumn",
    "BundlePage",
    "BundlePhase",
    "BundleRefused",
    "ImportedBundle",
    "read_bundle",
    "read_bundle_file",
    "reference_zip",
]


@dataclass(frozen=True)
class ImportedBundle:
    """What a bundle declares, mapped to a shipped definition; plain data, nothing stored."""

    source: str  # the zip's name, as uploaded
    format: Literal["codalab", "codabench"]
    title: str
    description: str
    image: str | None  # the logo's file inside the bundle, when it is there
    requires_approval: bool  # CodaLab has_registration; Codabench not registration_auto_approve
    allow_teams: bool | None  # None: the format does not say (Codabench)
    pages: tuple[BundlePage, ...]
    phases: tuple[BundlePhase, ...]
    columns: tuple[BundleColumn, ...]
    definition: str  # "mico" (built in) or e.g. "midst-blackbox-single"
    definition_file: str | None  # None for the built-in MICO; "definitions/midst-....yaml"
    tracks: tuple[str, ...]  # the definition's tracks the bundle holds; empty: all of them
    mapping_note: str  # e.g. "maps to MICO's built-in definition: 4 tracks ..."
    warnings: tuple[Problem, ...]  # what is not imported, for the organizer to know

    def page(self, role: str) -> BundlePage | None:
        """The page in a role (`overview`, `data`, `evaluation`, `terms`), or None."""
        return next((p for p in self.pages if p.role == role), None)


def read_bundle_file(path: Path, *, limits: Limits = BUNDLE_LIMITS) -> ImportedBundle:
    """`read_bundle` of a zip on disk, refused by its size before a byte is read."""
    try:
        data = read_zip_file(path, limits)
    except InvalidInput as exc:
        raise BundleRefused(path.name, exc.problems) from None
    return read_bundle(data, path.name, limits=limits)


def read_bundle(
    data: bytes, name: str = "bundle.zip", *, limits: Limits = BUNDLE_LIMITS
) -> ImportedBundle:
    """The bundle in `data`, checked and mapped; BundleRefused naming every fault otherwise."""
    files = BundleFiles.open(data, name, limits)
    content = files.load_yaml()
    fields = Fields(files)
    parsed = _parse(files, content, fields)
    if parsed is not None and not parsed.phases and not fields.problems:
        fields.fault("phases", "none defined; a competition has at least one phase")
    target: Target | None = None
    if parsed is not None and parsed.title:  # an unknown competition is said with any fault
        try:
            target = map_bundle(parsed.signals)
        except Unmapped as exc:
            fields.fault("", str(exc).removeprefix("competition.yaml "))
    if fields.problems or parsed is None or target is None:
        raise BundleRefused(name, fields.problems)
    return ImportedBundle(
        source=name,
        format=parsed.format,
        title=parsed.title,
        description=parsed.description,
        image=parsed.image,
        requires_approval=parsed.requires_approval,
        allow_teams=parsed.allow_teams,
        pages=tuple(parsed.pages),
        phases=tuple(_as_run(p, target) for p in parsed.phases),
        columns=tuple(parsed.columns),
        definition=target.definition,
        definition_file=target.definition_file,
        tracks=target.tracks,
        mapping_note=target.note,
        warnings=tuple(fields.warnings) + _unknown_splits(files, parsed),
    )


def reference_zip(
    data: bytes,
    name: str,
    path: str,
    *,
    limits: Limits = BUNDLE_LIMITS,
    max_bytes: int = MAX_REFERENCE_BYTES,
) -> bytes:
    """The reference data a phase names (`phase.reference_data`), as one zip of its files.

    MICO's `reference_data_dev.zip` comes as it is (`cifar10/cifar10_hi/dev/model_100/
    solution.csv`, what `read_track_truth` takes); MIDST's `data/` folder is zipped afresh,
    paths relative to it. Every read is bounded by `max_bytes`; BundleRefused otherwise.
    """
    files = BundleFiles.open(data, name, replace(limits, max_file_bytes=max_bytes))
    return files.part(path, max_bytes)


def _parse(files: BundleFiles, content: dict[Any, Any], fields: Fields) -> Parsed | None:
    """The yaml read in its format: `version: 2` is Codabench's, no version CodaLab's."""
    version = content.get("version")
    if version in (None, 1, "1"):
        return parse_codalab(files, content, fields)
    if version in (2, "2"):
        return parse_codabench(files, content, fields)
    shown = version if isinstance(version, int | float | str) else type(version).__name__
    fields.fault(
        "",
        f"version is {str(shown)[:20]}; CodaLab bundles have no version and Codabench's are "
        "version: 2",
    )
    return None


def _as_run(phase: BundlePhase, target: Target) -> BundlePhase:
    """The phase as the competition ran it where the bundle cannot say: MICO's Final took no
    uploads (the latest Development submission is scored on final)."""
    if target.definition == "mico" and phase.split == "final":
        return replace(phase, accepts_uploads=False)
    return phase


def _unknown_splits(files: BundleFiles, parsed: Parsed) -> tuple[Problem, ...]:
    """A warning for each phase whose split the bundle does not tell."""
    return tuple(
        Problem(
            files.shown(files.yaml_name),
            f"phase '{p.name}' names neither dev nor final (in its name, tasks or reference "
            "data); set which splits it scores and shows after the import",
        )
        for p in parsed.phases
        if p.split is None
    )
