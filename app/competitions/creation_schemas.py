"""What the creation API answers: the preview in numbers (never a label), and where the new
competition is once created; for a bundle, also what it maps to and what it brings (pages,
phases with their dates, columns) and what of it is not imported."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.competitions import creation
from app.competitions.bundle_import import BundlePlan, ImportedPhase


class SplitFoundOut(BaseModel):
    """One model type's split in the ground truth."""

    split: str
    models: int
    labels: int
    members: int = Field(description="labels that are 1")


class ScenarioFoundOut(BaseModel):
    """A model type (MIDST) or scenario (MICO) and whether a submission may leave it out."""

    name: str
    optional: bool
    splits: list[SplitFoundOut]


class TrackFoundOut(BaseModel):
    """A track the ground truth holds, and how its score is made from its model types."""

    name: str
    title: str
    ranking: str = Field(description="mean, max, min or mean_rank over the model types")
    scenarios: list[ScenarioFoundOut]


class PhaseFoundOut(BaseModel):
    """A phase as it will be stored."""

    name: str
    accepts_uploads: bool
    opens_now: bool = Field(description="open once created (a bundle's phase: by its dates)")
    scored_splits: list[str]
    shown_splits: list[str]
    max_per_day: int
    max_total: int
    starts_at: datetime | None = Field(None, description="a bundle's phases: when it opens")
    ends_at: datetime | None = Field(None, description="a bundle's phases: when it closes")
    max_bytes: int | None = Field(None, description="a bundle's phases: the largest upload")


class PageFoundOut(BaseModel):
    """A bundle's page, stored as the competition's page of its role (as Markdown)."""

    role: str = Field(description="overview, data, evaluation or terms")
    title: str = Field(description="the page's title in the bundle (its description: none)")
    characters: int


class ColumnFoundOut(BaseModel):
    """A leaderboard column of the bundle and the metric it shows (null: not shown)."""

    key: str
    title: str
    metric: str | None


class CreationOut(BaseModel):
    """What the definition and ground truth make (or made): tracks, model types, label counts
    per split, phases."""

    slug: str
    title: str
    definition: str = Field(description="the definition's own slug")
    ranking_key: str
    points_per_model: int
    splits: list[str] = Field(description="the splits whose labels are stored")
    tracks: list[TrackFoundOut]
    phases: list[PhaseFoundOut]
    truth_sha256: str = Field(description="SHA-256 of the labels to store, bit-packed")
    stored: bool = Field(description="false for a preview: nothing was stored")
    url: str | None = Field(None, description="the new competition's page, once created")
    source: Literal["files", "bundle"] = Field(
        "files", description="files: a definition and its truth zip; bundle: a bundle"
    )
    mapping: str | None = Field(
        None, description="a bundle: the shipped definition it maps to, and why ('maps to ...')"
    )
    warnings: list[str] = Field(
        default_factory=list, description="a bundle: what of it is not imported, and why"
    )
    pages: list[PageFoundOut] = Field(default_factory=list, description="a bundle's pages")
    columns: list[ColumnFoundOut] = Field(
        default_factory=list, description="a bundle's leaderboard columns"
    )


def creation_out(plan: creation.Preview, url: str | None = None) -> CreationOut:
    """The API's form of a preview; with `url`, of the competition created from it."""
    return CreationOut.model_validate(plan.to_dict() | {"stored": url is not None, "url": url})


def bundle_out(plan: BundlePlan, now: datetime, url: str | None = None) -> CreationOut:
    """The API's form of a bundle's preview (its phases as the bundle sets them, running or
    not at `now`); with `url`, of the competition created from it."""
    return CreationOut.model_validate(
        plan.preview.to_dict()
        | {
            "stored": url is not None,
            "url": url,
            "source": "bundle",
            "mapping": plan.mapping_note,
            "warnings": [str(w) for w in plan.warnings],
            "pages": pages_found(plan),
            "phases": [_phase(p, now) for p in plan.phases],
            "columns": [vars(c) for c in plan.columns],
        }
    )


def pages_found(plan: BundlePlan) -> list[dict[str, Any]]:
    """The pages to store, with their titles in the bundle (the page shows them too)."""
    found = []
    for role, text in plan.pages.items():
        page = plan.bundle.page(role)
        title = page.title if page else "the bundle's description"
        found.append({"role": role, "title": title, "characters": len(text)})
    return found


def is_running(phase: ImportedPhase, now: datetime) -> bool:
    """Whether the phase is open at `now` by its dates (a phase without a start is not)."""
    started = phase.starts_at is not None and phase.starts_at <= now
    return started and (phase.ends_at is None or now < phase.ends_at)


def _phase(phase: ImportedPhase, now: datetime) -> dict[str, Any]:
    return {
        "name": phase.name,
        "accepts_uploads": phase.accepts_uploads,
        "opens_now": is_running(phase, now),
        "scored_splits": list(phase.scored_splits),
        "shown_splits": list(phase.shown_splits),
        "max_per_day": phase.max_per_day,
        "max_total": phase.max_total,
        "starts_at": phase.starts_at,
        "ends_at": phase.ends_at,
        "max_bytes": phase.max_bytes,
    }
