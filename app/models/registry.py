"""Every model, imported once so that `Base.metadata` knows all tables (Alembic, tests)."""

from app.models import (  # noqa: F401
    audit,
    award,
    competition,
    ground_truth,
    login_attempt,
    organizer,
    outbox,
    phase,
    ranking,
    registration,
    representative,
    reveal,
    scenario,
    score,
    submission,
    team,
    team_member,
    token,
    track,
    truth_version,
    user,
)
from app.models.base import Base

metadata = Base.metadata
