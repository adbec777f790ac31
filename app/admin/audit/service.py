"""The competition's audit log as organizers read it: a page at a time, with people and
submissions named and linked rather than given as ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.admin.paging import PER_PAGE, Page, offset_of
from app.models.audit import AuditEntry
from app.models.competition import Competition
from app.models.registration import Registration
from app.models.user import User

# Detail keys as the page names them; others lose their underscores ("max per day").
LABELS = {
    "user_id": "participant",
    "registration_id": "participant",
    "submission": "submission",
    "submission_id": "submission",
    "ladder_eta": "Ladder step",
    "max_total": "max in all",
    "was": "status before",
}
SUBMISSION_KEYS = ("submission", "submission_id")


@dataclass(frozen=True)
class Part:
    """One piece of an entry's detail: a readable label, and values, each with a link or not."""

    label: str
    values: list[tuple[str, str | None]]


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    actor: str | None
    parts: list[Part]


def audit_log(
    session: Session,
    competition: Competition,
    *,
    action: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[tuple[AuditEntry, str | None]]:
    """The competition's audit entries, newest first, with the actor's display name;
    `action` keeps those whose action starts with it (e.g. `phase.`)."""
    query = (
        select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(*_where(competition, action))
        .order_by(AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.execute(query).tuples())


def _where(competition: Competition, action: str | None) -> list[Any]:
    where: list[Any] = [AuditEntry.competition_id == competition.id]
    if action:
        where.append(AuditEntry.action.startswith(action, autoescape=True))
    return where


def audit_page(
    session: Session, competition: Competition, number: int, *, action: str | None = None
) -> Page[AuditRow]:
    """Page `number` of the log with its details readable, in four statements whatever the
    page: the count, the entries, the people and the registrations they name."""
    total = session.scalar(
        select(func.count()).select_from(AuditEntry).where(*_where(competition, action))
    )
    entries = audit_log(
        session, competition, action=action, limit=PER_PAGE, offset=offset_of(number)
    )
    people = _people(session, competition, [e for e, _ in entries])
    rows = [AuditRow(e, who, _parts(competition, e.detail, people)) for e, who in entries]
    return Page(rows, number, total or 0)


@dataclass(frozen=True)
class _People:
    users: dict[int, User]
    registrations: dict[int, User]


def _people(session: Session, competition: Competition, entries: list[AuditEntry]) -> _People:
    user_ids = {v for e in entries if isinstance(v := e.detail.get("user_id"), int)}
    registration_ids = {v for e in entries if isinstance(v := e.detail.get("registration_id"), int)}
    # Asked even when none is named: every page reads the same number of times.
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    registrations = dict(
        session.execute(
            select(Registration.id, User)
            .join(User, User.id == Registration.user_id)
            .where(
                Registration.id.in_(registration_ids),
                Registration.competition_id == competition.id,
            )
        )
        .tuples()
        .all()
    )
    return _People(users, registrations)


def _parts(competition: Competition, detail: dict[str, Any], people: _People) -> list[Part]:
    admin = f"/competitions/{competition.slug}/admin"
    parts: list[Part] = []
    if isinstance(detail.get("user_id"), int) and isinstance(detail.get("registration_id"), int):
        detail = {k: v for k, v in detail.items() if k != "registration_id"}  # the same person
    for key, value in detail.items():
        label = LABELS.get(key, key.replace("_", " "))
        if key in ("user_id", "registration_id") and isinstance(value, int):
            found = people.users if key == "user_id" else people.registrations
            person = found.get(value)
            if person is None:
                parts.append(Part(label, [(f"a deleted account ({key} {value})", None)]))
            else:
                url = f"{admin}/participants?{urlencode({'search': person.email})}"
                parts.append(Part(label, [(person.display_name, url)]))
        elif key in SUBMISSION_KEYS and isinstance(value, int):
            parts.append(Part(label, [(f"#{value}", f"{admin}/submissions/{value}")]))
        elif key == "submissions" and isinstance(value, list):
            links: list[tuple[str, str | None]] = [
                (f"#{v}", f"{admin}/submissions/{v}") for v in value if isinstance(v, int)
            ]
            parts.append(Part(label, links))
        elif key == "phase" and isinstance(value, str):
            parts.append(Part(label, [(value, f"{admin}/phases")]))
        elif key == "track" and isinstance(value, str):
            parts.append(Part(label, [(value, f"{admin}/tracks")]))
        else:
            parts.append(Part(label, [(_text(value), None)]))
    return parts


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "none"
    return str(value)
