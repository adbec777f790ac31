"""Teams: made by one participant, joined by invite code, left at will; empty teams go."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, Invalid, NotFound
from app.models.team import Team
from app.models.team_member import TeamMember
from app.models.user import User


def team_of(session: Session, user: User) -> Team | None:
    """The user's team, if any."""
    return session.scalar(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user.id)
    )


def members(session: Session, team: Team) -> list[User]:
    """A team's members, by display name."""
    query = (
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id)
        .order_by(User.display_name)
    )
    return list(session.scalars(query))


def create_team(session: Session, user: User, name: str) -> Team:
    """A new team with `user` in it, and its invite code."""
    name = name.strip()
    if not 2 <= len(name) <= 64 or not name.isprintable():
        raise Invalid("a team name is 2 to 64 characters, without control characters")
    if team_of(session, user) is not None:
        raise Conflict("you are already in a team; leave it first")
    if session.scalar(select(Team.id).where(func.lower(Team.name) == name.lower())):
        raise Conflict(f"the team name '{name}' is taken")
    team = Team(name=name, invite_code=secrets.token_urlsafe(9))
    session.add(team)
    session.flush()
    session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()
    return team


def join_team(session: Session, user: User, invite_code: str) -> Team:
    """Join the team whose invite code this is."""
    team = session.scalar(select(Team).where(Team.invite_code == invite_code.strip()))
    if team is None:
        raise NotFound("no team has this invite code; ask a member to copy it again")
    if team_of(session, user) is not None:
        raise Conflict("you are already in a team; leave it first")
    session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()
    return team


def leave_team(session: Session, user: User) -> tuple[str, bool]:
    """Leave one's team; a team left empty is removed. The team's name, and whether it went."""
    team = team_of(session, user)
    if team is None:
        raise Invalid("you are not in a team")
    session.delete(session.get_one(TeamMember, (team.id, user.id)))
    session.flush()
    if members(session, team):
        return team.name, False
    session.delete(team)
    return team.name, True
