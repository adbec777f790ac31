"""Where a competition stands in time: each phase running, closed or scheduled, the current
phase and the next one. Pure: phases and a moment in, no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.models.phase import Phase


class PhaseState(StrEnum):
    """A phase at a given moment."""

    RUNNING = "running"
    CLOSED = "closed"
    SCHEDULED = "scheduled"  # starts later, or has no start date yet


@dataclass(frozen=True)
class PhaseAt:
    """A phase and its state at the moment asked."""

    phase: Phase
    state: PhaseState


@dataclass(frozen=True)
class Timeline:
    """Every phase in the order they run, the one running now and the one coming next."""

    phases: list[PhaseAt]
    current: Phase | None
    next: Phase | None

    @property
    def deadline(self) -> datetime | None:
        """When the current phase ends; None without a current phase or an end."""
        return self.current.ends_at if self.current else None


def state_of(phase: Phase, now: datetime) -> PhaseState:
    """Running from its start (a phase without one has not started) until its end."""
    if phase.starts_at is None or phase.starts_at > now:
        return PhaseState.SCHEDULED
    if phase.ends_at is not None and phase.ends_at <= now:
        return PhaseState.CLOSED
    return PhaseState.RUNNING


def timeline(phases: Sequence[Phase], now: datetime) -> Timeline:
    """The phases by start (those without a start date last, in the order they were made),
    the current one (the latest started of those running) and the next to start."""
    ordered = sorted(phases, key=lambda p: (p.starts_at is None, p.starts_at or now, p.id or 0))
    states = [PhaseAt(p, state_of(p, now)) for p in ordered]
    running = [s.phase for s in states if s.state is PhaseState.RUNNING]
    coming = [s.phase for s in states if s.state is PhaseState.SCHEDULED]
    return Timeline(states, running[-1] if running else None, coming[0] if coming else None)
