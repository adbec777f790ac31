"""What the organizers' results API reads: a track's awards, in the order they are shown."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.admin.results.service import MAX_AWARDS, MAX_TITLE, AwardChoice


class AwardIn(BaseModel):
    """One award: its title and the entry (a submission of the final leaderboard) it goes
    to; `submission_id` null announces it as not awarded."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=MAX_TITLE, examples=["Winner"])
    submission_id: int | None = Field(description="null: not awarded")

    def choice(self) -> AwardChoice:
        """The service's form of it."""
        return AwardChoice(self.title.strip(), self.submission_id)


class AwardsIn(BaseModel):
    """A track's awards, replacing those announced before (an empty list withdraws them)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "awards": [
                        {"title": "Winner", "submission_id": 17},
                        {"title": "Runner-up", "submission_id": 23},
                        {"title": "Honourable mention", "submission_id": None},
                    ]
                }
            ]
        },
    )

    awards: list[AwardIn] = Field(max_length=MAX_AWARDS)
