"""What the organizers' tracks API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.admin.tracks.service import MAX_SCENARIOS, MAX_TITLE, NAME

# The pattern is documented here and checked by the service, whose refusal says what to do.
Name = Annotated[
    str,
    Field(
        max_length=200, json_schema_extra={"pattern": f"^{NAME.pattern}$"}, examples=["cifar10_hi"]
    ),
]


class TruthOut(BaseModel):
    """Whether a scenario's split has ground truth, and its size: never a label."""

    split: str
    present: bool
    models: int | None = None
    points_per_model: int | None = None
    updated_at: datetime | None = None


class ScenarioOut(BaseModel):
    """A scenario and its ground truth, split by split."""

    name: str
    ground_truth: list[TruthOut]


class TrackOut(BaseModel):
    """A track as organizers see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "cifar10",
                    "title": "CIFAR-10",
                    "submissions": 12,
                    "scenarios_locked": True,
                    "removable": False,
                    "scenarios": [
                        {
                            "name": "cifar10_hi",
                            "ground_truth": [
                                {
                                    "split": "dev",
                                    "present": True,
                                    "models": 50,
                                    "points_per_model": 200,
                                    "updated_at": "2026-11-28T14:34:00Z",
                                },
                                {"split": "final", "present": False},
                            ],
                        }
                    ],
                }
            ]
        }
    )

    name: str
    title: str
    submissions: int
    scenarios_locked: bool = Field(
        description="true once the track has submissions: scenarios can no longer change"
    )
    removable: bool = Field(description="true while it has neither submissions nor ground truth")
    scenarios: list[ScenarioOut]


class TrackIn(BaseModel):
    """A new track: its name (in zips and URLs, fixed), title and scenario names."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "purchase100",
                    "title": "Purchase-100",
                    "scenarios": ["purchase100_lo", "purchase100_hi", "purchase100_inf"],
                }
            ]
        },
    )

    name: Name
    title: str = Field("", max_length=MAX_TITLE)
    scenarios: list[Name] = Field(min_length=1, max_length=MAX_SCENARIOS)


class TrackPatch(BaseModel):
    """Changes to a track; the title always, scenarios only while it has no submissions."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"title": "CIFAR-10 (ResNet-18)"},
                {"add_scenarios": ["cifar10_mid"], "rename_scenarios": {"cifar10_x": "cifar10_y"}},
                {"remove_scenarios": ["cifar10_mid"]},
            ]
        },
    )

    title: str | None = Field(None, max_length=MAX_TITLE)
    add_scenarios: list[Name] = Field([], max_length=MAX_SCENARIOS)
    rename_scenarios: dict[str, Name] = Field(
        {}, max_length=MAX_SCENARIOS, description="old name to new name"
    )
    remove_scenarios: list[str] = Field(
        [], max_length=MAX_SCENARIOS, description="only scenarios without ground truth"
    )
