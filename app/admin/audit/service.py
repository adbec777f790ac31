"""The competition's audit log as organizers read it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.audit import AuditEntry
from app.models.competition import Competition
from app.models.user import User


def audit_log(
    session: Session, competition: Competition, *, action: str | None = None, limit: int = 200
) -> list[tuple[AuditEntry, str | None]]:
    """The competition's audit entries, newest first, with the actor's display name;
    `action` keeps those whose action starts with it (e.g. `phase.`)."""
    query = (
        select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.competition_id == competition.id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    return list(session.execute(query).tuples())
