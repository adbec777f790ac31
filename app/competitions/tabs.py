"""A competition's tabs and what every tab's page shows: one context for the competition's own
tabs and for the tabs other domains add (the Results, once announced)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.competitions import phases, registrations, service, visibility
from app.models.award import Award
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.user import User

# The competition's tabs: (path after /competitions/{slug}, title, template); Admin is added
# for organizers. Each is a page of its own, to share and reload.
TABS = (
    ("", "Overview", "overview"),
    ("/data", "Data", "data"),
    ("/evaluation", "Evaluation", "evaluation"),
    ("/terms", "Terms", "terms"),
    ("/leaderboard", "Leaderboard", "leaderboard"),
    ("/submit", "Submit", "submit"),
    ("/my-submissions", "My submissions", "mine"),
)
ADMIN_TAB = ("/admin", "Admin", "admin")
# After Leaderboard, once the organizers have revealed the final results and announced awards.
RESULTS_TAB = ("/results", "Results", "results")
# After Leaderboard (and Results), once the organizers made it a living benchmark.
BENCHMARK_TAB = ("/benchmark", "Benchmark", "benchmark")


def _with_results(session: Session, competition: Competition) -> tuple[tuple[str, str, str], ...]:
    """The tabs, with Results after Leaderboard once results are announced, and Benchmark
    after them once the competition is a living benchmark."""
    added = []
    if competition.revealed_at is not None and (
        session.scalar(select(Award.id).where(Award.competition_id == competition.id).limit(1))
        is not None
    ):
        added.append(RESULTS_TAB)
    if visibility.benchmark_phase(session, competition) is not None:
        added.append(BENCHMARK_TAB)
    at = [name for _, _, name in TABS].index("leaderboard") + 1
    return (*TABS[:at], *added, *TABS[at:])


def page_context(
    session: Session, competition: Competition, user: User | None, tab: str = "overview"
) -> dict[str, Any]:
    """What a competition's page shows this user: the tab asked, the phases, the tracks, their
    registration and, for organizers, the registrations waiting."""
    registration = registrations.registration_of(session, competition, user) if user else None
    organizer = registrations.organizes(session, competition, user)
    tabs = _with_results(session, competition)
    return {
        "competition": competition,
        "tab": tab,
        "tabs": (*tabs, ADMIN_TAB) if organizer else tabs,
        "timeline": phases.timeline(service.phases_of(session, competition), utcnow()),
        "tracks": registrations.tracks_of(session, competition),
        "user": user,
        "registration": registration,
        "terms": registrations.terms_of(competition),
        "terms_version": registrations.terms_version(competition),
        "waiting": registrations.pending(session, competition) if organizer else [],
        "organizer": organizer,
    }
