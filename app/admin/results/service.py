"""The organizers' announcement of a competition's results: per track, after the reveal, the
awards (winner, runner-up, any other named one, or announced as not awarded), each naming an
entry of the final leaderboard. A track's awards are replaced whole, and every announcement
or change goes to the audit log with what it replaced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.competitions import audit
from app.core.errors import Conflict, Invalid
from app.models.award import Award
from app.models.competition import Competition
from app.models.track import Track
from app.models.user import User
from app.results.service import TrackResults, awards_of, track_results

MAX_AWARDS = 10
MAX_TITLE = 80
SUGGESTED = ("Winner", "Runner-up", "Honourable mention")


@dataclass(frozen=True)
class AwardChoice:
    """An award as an organizer names it: its title and the submission (None: not awarded)."""

    title: str
    submission_id: int | None


def require_revealed(competition: Competition) -> None:
    """Conflict until the final results are revealed: awards name entries of the final
    leaderboard, which nobody else may see before."""
    if competition.revealed_at is None:
        raise Conflict(
            f"the final results of {competition.title} are not revealed yet: reveal them first "
            "(Leaderboard, Reveal final results), then announce the awards"
        )


def publish(
    session: Session,
    competition: Competition,
    organizer: User,
    track: Track,
    choices: list[AwardChoice],
) -> TrackResults:
    """Announce the track's awards, replacing those announced before (none: withdrawn)."""
    require_revealed(competition)
    _check_titles(choices)
    current = track_results(session, competition, track)
    ranked = {e.submission_id: e for e in current.entries}
    for choice in choices:
        if choice.submission_id is not None and choice.submission_id not in ranked:
            raise Invalid(
                f"award \u201c{choice.title}\u201d: submission {choice.submission_id} is not on "
                f"the final {track.name} leaderboard; choose one of its entries"
            )
    given = [c.submission_id for c in choices if c.submission_id is not None]
    if len(given) != len(set(given)):
        raise Invalid("an entry gets one award per track; each award names a different entry")
    before = [_described(a.title, a.submission_id, ranked) for a in awards_of(session, track)]
    session.execute(delete(Award).where(Award.track_id == track.id))
    session.add_all(
        Award(
            competition_id=competition.id,
            track_id=track.id,
            position=i,
            title=c.title,
            submission_id=c.submission_id,
            awarded_by=organizer.id,
        )
        for i, c in enumerate(choices)
    )
    session.flush()
    after = [_described(c.title, c.submission_id, ranked) for c in choices]
    action = "results.publish" if choices else "results.withdraw"
    detail = {
        "track": track.name,
        "split": current.split,
        "awards": after,
        "before": before,
        "submissions": given,  # the audit page links them
    }
    audit.record(session, competition, organizer, action, detail)
    return track_results(session, competition, track)


def _check_titles(choices: list[AwardChoice]) -> None:
    if len(choices) > MAX_AWARDS:
        raise Invalid(f"a track has at most {MAX_AWARDS} awards")
    titles = [c.title for c in choices]
    for title in titles:
        if not title or len(title) > MAX_TITLE or not title.isprintable():
            raise Invalid(
                f"an award's title is 1 to {MAX_TITLE} printable characters, e.g. "
                f"{', '.join(SUGGESTED)}"
            )
    repeated = sorted({t for t in titles if titles.count(t) > 1})
    if repeated:
        raise Invalid(f"award titles given twice: {', '.join(repeated)}")


def _described(title: str, submission_id: int | None, ranked: dict[int, Any]) -> str:
    """An award as the audit log keeps it, in words: who it went to, as ranked then."""
    if submission_id is None:
        return f"{title}: not awarded"
    entry = ranked.get(submission_id)
    who = f"{entry.participant} (#{entry.rank})" if entry else "an entry no longer ranked"
    return f"{title}: {who}, submission {submission_id}"


def parse_form(titles: list[str], entries: list[str]) -> list[AwardChoice]:
    """The form's rows (a title and an entry: a submission id, `none` for not awarded, or
    nothing: the row is left out)."""
    choices = []
    for title, entry in zip(titles, entries, strict=False):
        title, entry = title.strip(), entry.strip()
        if not entry:
            continue
        if not title:
            raise Invalid("give each award a title, e.g. Winner, Runner-up, Honourable mention")
        if entry == "none":
            choices.append(AwardChoice(title, None))
        elif entry.isdigit() and len(entry) < 12:
            choices.append(AwardChoice(title, int(entry)))
        else:
            raise Invalid(f"award \u201c{title}\u201d: choose an entry of the final leaderboard")
    return choices
