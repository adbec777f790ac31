"""What the audit-log API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel


class AuditOut(BaseModel):
    """One audit entry."""

    id: int
    at: datetime
    actor: str | None
    action: str
    detail: dict[str, Any]


Action = Annotated[str | None, Query(max_length=64, description="actions starting with this")]
