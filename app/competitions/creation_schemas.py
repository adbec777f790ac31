"""What the creation API answers: the preview in numbers (never a label), and where the new
competition is once created."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.competitions import creation


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
    opens_now: bool
    scored_splits: list[str]
    shown_splits: list[str]
    max_per_day: int
    max_total: int


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


def creation_out(plan: creation.Preview, url: str | None = None) -> CreationOut:
    """The API's form of a preview; with `url`, of the competition created from it."""
    return CreationOut.model_validate(plan.to_dict() | {"stored": url is not None, "url": url})
