"""A competition's settings as organizers change them: its title, whether registrations wait
for approval, the points per model (until ground truth fixes them) and its Markdown pages.
Every change goes to the audit log, naming the fields changed, never their whole text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.competitions import audit
from app.core.errors import Conflict, Invalid
from app.core.markdown import render_markdown
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.registration import Registration
from app.models.scenario import Scenario
from app.models.track import Track
from app.models.user import User

MAX_TITLE = 200
MAX_PAGE = 100_000
MAX_POINTS = 100_000
# The Markdown pages, in the order the competition's page shows them, with their names.
PAGES = {
    "overview_md": "Overview",
    "data_md": "Data",
    "evaluation_md": "Evaluation",
    "terms_md": "Terms",
}


@dataclass(frozen=True)
class SettingsChange:
    """What an organizer sends; None leaves a setting as it is."""

    title: str | None = None
    requires_approval: bool | None = None
    points_per_model: int | None = None
    overview_md: str | None = None
    data_md: str | None = None
    evaluation_md: str | None = None
    terms_md: str | None = None

    def values(self) -> dict[str, Any]:
        """The settings given, by name."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def truth_rows(session: Session, competition: Competition) -> int:
    """How many ground-truth rows the competition's scenarios have (labels never loaded)."""
    return (
        session.scalar(
            select(func.count(GroundTruth.id))
            .join(Scenario, Scenario.id == GroundTruth.scenario_id)
            .join(Track, Track.id == Scenario.track_id)
            .where(Track.competition_id == competition.id)
        )
        or 0
    )


def registrations_count(session: Session, competition: Competition) -> int:
    """How many users registered (accepting the terms as they were then)."""
    return (
        session.scalar(
            select(func.count(Registration.id)).where(Registration.competition_id == competition.id)
        )
        or 0
    )


def normalised(change: SettingsChange) -> SettingsChange:
    """Titles without surrounding spaces; pages with `\\n` line ends, as browsers send `\\r\\n`
    (saving an untouched form then changes nothing)."""
    values = change.values()
    if change.title is not None:
        values["title"] = change.title.strip()
    for page in PAGES:
        if page in values:
            values[page] = values[page].replace("\r\n", "\n").replace("\r", "\n")
    return SettingsChange(**values)


def problems(change: SettingsChange) -> list[str]:
    """Every fault of a (normalised) change, each saying what to do; empty when it is valid."""
    found = []
    if change.title is not None and not 1 <= len(change.title) <= MAX_TITLE:
        found.append(f"the title is 1 to {MAX_TITLE} characters (it has {len(change.title):,})")
    if change.points_per_model is not None and not 1 <= change.points_per_model <= MAX_POINTS:
        found.append(f"points per model is a whole number from 1 to {MAX_POINTS:,}")
    for page, name in PAGES.items():
        text = getattr(change, page)
        if text is not None and len(text) > MAX_PAGE:
            found.append(
                f"the {name} page has {len(text):,} characters; at most {MAX_PAGE:,} are "
                "allowed: shorten it or link to a longer document"
            )
    for key, value in change.values().items():
        if isinstance(value, str) and "\x00" in value:
            found.append(f"{key.removesuffix('_md').replace('_', ' ')} holds a NUL character")
    return found


def preview(change: SettingsChange) -> dict[str, Markup | None]:
    """The Markdown pages of a change as the competition's page would show them (sanitised);
    None for a page too long to save, which is not rendered either."""
    texts = {page: getattr(change, page) or "" for page in PAGES}
    return {k: render_markdown(v) if len(v) <= MAX_PAGE else None for k, v in texts.items()}


def change_settings(
    session: Session, competition: Competition, organizer: User, change: SettingsChange
) -> list[str]:
    """Apply a change, refusing it whole when any field is wrong; the fields that changed."""
    change = normalised(change)
    found = problems(change)
    if found:
        raise Invalid("nothing was saved: " + "; ".join(found), errors=found)
    values = {k: v for k, v in change.values().items() if getattr(competition, k) != v}
    if "points_per_model" in values and (rows := truth_rows(session, competition)):
        raise Conflict(
            f"points per model is fixed at {competition.points_per_model}: it defines the "
            f"ground truth's file format and {rows} ground-truth rows are stored already"
        )
    if not values:
        return []
    detail: dict[str, Any] = {"changed": sorted(values)}
    for key, value in values.items():
        before = getattr(competition, key)
        detail[key] = _summary(key, before, value)
        setattr(competition, key, value)
    audit.record(session, competition, organizer, "competition.settings", detail)
    if "terms_md" in values:
        _record_terms(session, competition, organizer, detail["terms_md"])
    return sorted(values)


def _summary(key: str, before: Any, after: Any) -> dict[str, Any]:
    """What the audit log keeps of one change: short values whole, pages as their size."""
    if key in PAGES:
        return {"chars_before": len(before), "chars_after": len(after)}
    return {"before": before, "after": after}


def _record_terms(
    session: Session, competition: Competition, organizer: User, sizes: dict[str, Any]
) -> None:
    """New terms: participants registered so far accepted the earlier ones; say how many, and
    which text is in force now (its digest), so an accepted version can be told apart later."""
    audit.record(
        session,
        competition,
        organizer,
        "competition.terms",
        {
            "registered_under_earlier_terms": registrations_count(session, competition),
            "sha256": hashlib.sha256(competition.terms_md.encode()).hexdigest(),
            **sizes,
        },
    )
