"""What the organizers' participants API reads and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.admin.participants.service import MAX_LIMIT, ParticipantRow
from app.models.registration import RegistrationStatus


class ParticipantOut(BaseModel):
    """A participant as organizers see them; null limits are the phase's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": 7,
                    "display_name": "ada",
                    "email": "ada@example.org",
                    "status": "approved",
                    "team": "lira-lovers",
                    "registered_at": "2026-11-28T14:34:00Z",
                    "terms_accepted_at": "2026-11-28T14:34:00Z",
                    "submissions": 12,
                    "max_per_day": 50,
                    "max_total": None,
                }
            ]
        }
    )

    user_id: int
    display_name: str
    email: str
    status: RegistrationStatus
    team: str | None
    registered_at: datetime
    terms_accepted_at: datetime
    submissions: int
    max_per_day: int | None
    max_total: int | None


class ParticipantPatch(BaseModel):
    """What to change; a field left out stays as it is, a limit set to null gives the phase's
    limit back. `status`: approved (also unbans), rejected (a pending registration) or banned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "banned"},
                {"max_per_day": 50, "max_total": None},
                {"status": "approved", "max_total": 2000},
            ]
        },
    )

    status: RegistrationStatus | None = None
    max_per_day: int | None = Field(None, ge=0, le=MAX_LIMIT)
    max_total: int | None = Field(None, ge=0, le=MAX_LIMIT)


def participant_out(row: ParticipantRow) -> ParticipantOut:
    """The API's form of a row of the list."""
    r, u = row.registration, row.user
    return ParticipantOut(
        user_id=u.id,
        display_name=u.display_name,
        email=u.email,
        status=r.status,
        team=row.team,
        registered_at=r.created_at,
        terms_accepted_at=r.terms_accepted_at,
        submissions=row.submissions,
        max_per_day=r.max_per_day,
        max_total=r.max_total,
    )
