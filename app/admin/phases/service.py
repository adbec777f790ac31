"""What organizers change in a running competition's phases: dates, limits, policy, pinning
and the Ladder; open and close now. Every change goes to the audit log. The router's
organizer dependency is the one check of who may do this."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.admin.phases.schemas import PhaseIn
from app.competitions import audit
from app.competitions.phases import PhaseState, state_of
from app.core.db import row_by_id
from app.core.errors import Conflict, Invalid, NotFound
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.user import User

# Settings a phase cannot be without: null for one of them is refused, not stored.
REQUIRED = ("accepts_uploads", "max_per_day", "max_total", "leaderboard_policy", "allow_pinning")


def phases_of(session: Session, competition: Competition) -> list[Phase]:
    """The competition's phases, in the order they were made."""
    return list(
        session.scalars(
            select(Phase).where(Phase.competition_id == competition.id).order_by(Phase.id)
        )
    )


def phase_of(session: Session, competition: Competition, phase_id: int) -> Phase:
    """One of the competition's phases, or NotFound."""
    phase = row_by_id(session, Phase, phase_id)
    if phase is None or phase.competition_id != competition.id:
        raise NotFound(f"{competition.title} has no phase {phase_id}")
    return phase


def values_of(change: PhaseIn) -> dict[str, Any]:
    """The columns a change sets: every field it was given, `no_end` and `exact_scores` as the
    null they stand for."""
    values = change.model_dump(exclude_unset=True)
    if values.pop("no_end", False):
        values["ends_at"] = None
    if values.pop("exact_scores", False):
        if values.get("ladder_eta") is not None:
            raise Invalid("give a Ladder step or exact scores, not both")
        values["ladder_eta"] = None
    nulls = [k.replace("_", " ") for k in REQUIRED if k in values and values[k] is None]
    if nulls:
        raise Invalid(f"{', '.join(nulls)} cannot be null: give a value, or leave it out")
    return values


def change_phase(
    session: Session, competition: Competition, organizer: User, phase: Phase, change: PhaseIn
) -> Phase:
    """Apply an organizer's change to a phase, refusing dates that make no sense."""
    values = values_of(change)
    starts = values.get("starts_at", phase.starts_at)
    ends = values.get("ends_at", phase.ends_at)
    if starts is not None and ends is not None and ends <= starts:
        raise Invalid(f"{phase.name} would end ({ends:%Y-%m-%d %H:%M}) before it starts")
    for key, value in values.items():
        setattr(phase, key, value)
    audit.record(
        session, competition, organizer, "phase.change", {"phase": phase.name, **_plain(values)}
    )
    return phase


def open_now(session: Session, competition: Competition, organizer: User, phase: Phase) -> Phase:
    """Start a phase now and end every other running one (MICO: Final opens, uploads close).
    A running phase is refused: opening it again would rewrite when it started."""
    now = utcnow()
    if state_of(phase, now) is PhaseState.RUNNING:
        raise Conflict(f"{phase.name} is running already; close it, or change its dates")
    for other in phases_of(session, competition):
        running = (other.starts_at is None or other.starts_at <= now) and (
            other.ends_at is None or other.ends_at > now
        )
        if other.id != phase.id and running and other.starts_at is not None:
            other.ends_at = now
    phase.starts_at, phase.ends_at = now, None
    audit.record(session, competition, organizer, "phase.open", {"phase": phase.name})
    return phase


def close_now(session: Session, competition: Competition, organizer: User, phase: Phase) -> Phase:
    """End a phase now: no more uploads to it."""
    now = utcnow()
    if phase.starts_at is None or phase.starts_at > now:
        raise Invalid(f"{phase.name} has not started; there is nothing to close")
    if phase.ends_at is not None and phase.ends_at <= now:
        raise Conflict(f"{phase.name} closed already on {phase.ends_at:%Y-%m-%d %H:%M} UTC")
    phase.ends_at = now
    audit.record(session, competition, organizer, "phase.close", {"phase": phase.name})
    return phase


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else str(v) for k, v in values.items()}
