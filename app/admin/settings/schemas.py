"""What the organizers' settings API reads and answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.admin.settings.service import MAX_PAGE, MAX_POINTS, MAX_TITLE

_EXAMPLE: dict[str, Any] = {
    "slug": "mico",
    "title": "MICO: Microsoft Membership Inference Competition",
    "requires_approval": False,
    "points_per_model": 200,
    "points_per_model_locked": True,
    "registrations": 42,
    "overview_md": "Attack the published models: ...",
    "data_md": "Each model comes with 200 challenge points ...",
    "evaluation_md": "Ranked by the mean TPR at 10% FPR over each track's scenarios.",
    "terms_md": "By taking part you agree to play fair ...",
}


class SettingsOut(BaseModel):
    """A competition's settings and Markdown pages (the Markdown source)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    slug: str
    title: str
    requires_approval: bool
    points_per_model: int
    points_per_model_locked: bool = Field(
        description="true once ground truth is stored: points per model can no longer change"
    )
    registrations: int = Field(description="participants registered, under the terms of then")
    overview_md: str
    data_md: str
    evaluation_md: str
    terms_md: str


class SettingsIn(BaseModel):
    """Settings to change; those left out stay as they are. Pages are Markdown (raw HTML is
    shown as text; the result is sanitised) of at most 100,000 characters each."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"title": "MICO 2027", "requires_approval": True},
                {"terms_md": "## Terms\n\nNo use of the hidden labels. One account per person."},
            ]
        },
    )

    title: str | SkipJsonSchema[None] = Field(None, min_length=1, max_length=MAX_TITLE)
    requires_approval: bool | SkipJsonSchema[None] = None
    points_per_model: int | SkipJsonSchema[None] = Field(
        None, ge=1, le=MAX_POINTS, description="refused (409) once ground truth is stored"
    )
    overview_md: str | SkipJsonSchema[None] = Field(None, max_length=MAX_PAGE)
    data_md: str | SkipJsonSchema[None] = Field(None, max_length=MAX_PAGE)
    evaluation_md: str | SkipJsonSchema[None] = Field(None, max_length=MAX_PAGE)
    terms_md: str | SkipJsonSchema[None] = Field(
        None,
        max_length=MAX_PAGE,
        description="participants registered already keep having accepted the earlier terms",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """A setting sent as null would change nothing: say so instead of answering 200."""
        if value is None:
            raise ValueError("null is not a value of this setting; leave it out to keep it")
        return value


class SettingsSaved(SettingsOut):
    """The settings after a change, and the fields it changed."""

    changed: list[str] = Field(description="names of the fields that changed; [] when none")
