"""The competition of a request, by its slug, and its organizers: written once for every route
that needs them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.dependencies import ApiUser, SignedIn
from app.competitions.registrations import competition_by_slug, require_organizer, track_by_name
from app.core.db import SessionDep
from app.models.competition import Competition
from app.models.track import Track
from app.models.user import User


def competition_from_slug(slug: str, session: SessionDep) -> Competition:
    """The competition named in the path, or 404."""
    return competition_by_slug(session, slug)


CompetitionDep = Annotated[Competition, Depends(competition_from_slug)]


def track_from_path(track: str, competition: CompetitionDep, session: SessionDep) -> Track:
    """The competition's track named in the path, or 404."""
    return track_by_name(session, competition, track)


TrackDep = Annotated[Track, Depends(track_from_path)]


def organizer_page(session: SessionDep, competition: CompetitionDep, user: SignedIn) -> User:
    """The signed-in organizer of this competition; 403 for anyone else (before anything in
    the request is read: a stranger learns nothing from a 422)."""
    require_organizer(session, competition, user)
    return user


def organizer_api(session: SessionDep, competition: CompetitionDep, user: ApiUser) -> User:
    """The token's organizer of this competition; 403 for anyone else."""
    require_organizer(session, competition, user)
    return user


Organizer = Annotated[User, Depends(organizer_page)]
ApiOrganizer = Annotated[User, Depends(organizer_api)]
