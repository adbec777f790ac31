"""What may be seen by whom: the splits a competition scores, and which of them its
leaderboards and scores show to participants (organizers see them all)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.competitions.registrations import organizes
from app.core.errors import NotFound
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.user import User


def phases_of(session: Session, competition: Competition) -> list[Phase]:
    """The competition's phases, read once per session (a request asks several times)."""
    memo: dict[int, list[Phase]] = session.info.setdefault("mia_phases", {})
    if competition.id not in memo:
        memo[competition.id] = list(
            session.scalars(
                select(Phase).where(Phase.competition_id == competition.id).order_by(Phase.id)
            )
        )
    return memo[competition.id]


def splits_of(session: Session, competition: Competition) -> list[str]:
    """Every split some phase scores, in the order phases name them."""
    phases = phases_of(session, competition)
    return list(dict.fromkeys(split for phase in phases for split in phase.scored_splits))


def hidden(session: Session, competition: Competition, split: str) -> bool:
    """True for a split no phase shows (MICO's final), until the organizers reveal it."""
    shown = any(split in phase.shown_splits for phase in phases_of(session, competition))
    return not shown and competition.revealed_at is None


def may_see(session: Session, competition: Competition, split: str, user: User | None) -> bool:
    """Organizers see every split; everyone else the shown and revealed ones."""
    if organizes(session, competition, user):
        return True
    return not hidden(session, competition, split)


def require_split(
    session: Session, competition: Competition, split: str, user: User | None
) -> None:
    """NotFound for a split that does not exist or may not be seen: the same answer for both."""
    if split not in splits_of(session, competition) or not may_see(
        session, competition, split, user
    ):
        raise NotFound(f"{competition.title} has no {split} leaderboard to show yet")


def ranking_phase(session: Session, competition: Competition, split: str) -> Phase | None:
    """The latest-made phase whose submissions this split ranks: its policy, pinning and
    Ladder settings apply (never a benchmark's: it ranks on a leaderboard of its own)."""
    phases = [p for p in phases_of(session, competition) if not p.benchmark]
    ranked = [p for p in phases if split in p.scored_splits and p.accepts_uploads] or [
        p for p in phases if split in p.scored_splits
    ]
    return ranked[-1] if ranked else None


def benchmark_phase(session: Session, competition: Competition) -> Phase | None:
    """The phase that made the competition a living benchmark, once organizers opened one."""
    return next((p for p in phases_of(session, competition) if p.benchmark), None)
