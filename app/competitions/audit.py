"""Writing to the audit log: who did what to which competition, in the action's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.models.audit import AuditEntry
from app.models.competition import Competition
from app.models.user import User


def record(
    session: Session,
    competition: Competition,
    actor: User | None,
    action: str,
    detail: dict[str, Any],
) -> None:
    """Add one entry; it is committed (or rolled back) with the change it describes."""
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            competition_id=competition.id,
            action=action,
            detail=detail,
        )
    )
    session.flush()
