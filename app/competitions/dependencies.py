"""The competition of a request, by its slug, written once for every route that needs it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.competitions.registrations import competition_by_slug
from app.core.db import SessionDep
from app.models.competition import Competition


def competition_from_slug(slug: str, session: SessionDep) -> Competition:
    """The competition named in the path, or 404."""
    return competition_by_slug(session, slug)


CompetitionDep = Annotated[Competition, Depends(competition_from_slug)]
