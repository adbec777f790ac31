"""Every table round-trips on PostgreSQL and SQLite, and the schema refuses bad rows."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import LeaderboardPolicy, Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.scenario import Scenario
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.team import Team
from app.models.team_member import TeamMember
from app.models.token import ApiToken
from app.models.track import Track
from app.models.user import Role, User


def _user(session: Session, name: str = "ada") -> User:
    user = User(email=f"{name}@example.org", display_name=name, password_hash="$argon2id$x")
    session.add(user)
    session.flush()
    return user


def _scenario(session: Session) -> tuple[Competition, Track, Scenario]:
    competition = Competition(slug="mico", title="MICO")
    session.add(competition)
    session.flush()
    track = Track(competition_id=competition.id, name="cifar10")
    session.add(track)
    session.flush()
    scenario = Scenario(track_id=track.id, name="cifar10_hi")
    session.add(scenario)
    session.flush()
    return competition, track, scenario


def test_a_whole_competition_round_trips(session: Session) -> None:
    """Users, tokens, teams, a competition with its truth, phase, submission and score."""
    user = _user(session)
    competition, track, scenario = _scenario(session)
    team = Team(name="owls", invite_code="abc123")
    session.add(team)
    session.flush()
    labels = np.random.default_rng(0).integers(0, 2, 50 * 200).astype(np.uint8)
    phase = Phase(
        competition_id=competition.id,
        name="Development",
        scored_splits=["dev", "final"],
        shown_splits=["dev"],
        max_per_day=30,
        max_total=1000,
        max_bytes=2 << 20,
    )
    session.add_all(
        [
            ApiToken(user_id=user.id, name="laptop", prefix="mia_abcd", token_hash="0" * 64),
            TeamMember(team_id=team.id, user_id=user.id),
            Registration(
                competition_id=competition.id,
                user_id=user.id,
                status=RegistrationStatus.APPROVED,
                terms_accepted_at=utcnow(),
            ),
            GroundTruth(
                scenario_id=scenario.id,
                split="dev",
                models=50,
                points_per_model=200,
                packed_labels=np.packbits(labels).tobytes(),
            ),
            phase,
            AuditEntry(action="import-mico", competition_id=competition.id, detail={"tracks": 4}),
        ]
    )
    session.flush()
    submission = Submission(
        user_id=user.id,
        team_id=team.id,
        track_id=track.id,
        phase_id=phase.id,
        zip_bytes=b"PK\x03\x04" + bytes(1000),
        sha256="f" * 64,
        size=1004,
    )
    session.add(submission)
    session.flush()
    session.add(
        Score(
            submission_id=submission.id,
            split="dev",
            scenario_id=scenario.id,
            metrics={"TPR_FPR_1000": 0.25, "AUC": 0.6},
            roc={"fpr": [0, 1], "tpr": [0, 1]},
        )
    )
    session.commit()
    session.expire_all()

    truth = session.scalars(select(GroundTruth)).one()
    assert np.array_equal(np.unpackbits(np.frombuffer(truth.packed_labels, np.uint8)), labels)
    assert "labels hidden" in repr(truth) and "packed" not in repr(truth)
    stored = session.scalars(select(Submission)).one()
    assert "zip_bytes" in inspect(stored).unloaded  # a list of submissions never loads the zips
    assert stored.zip_bytes[:4] == b"PK\x03\x04" and stored.status is SubmissionStatus.QUEUED
    assert session.scalars(select(Phase)).one().shown_splits == ["dev"]
    assert session.scalars(select(Phase)).one().leaderboard_policy is LeaderboardPolicy.LATEST
    assert session.scalars(select(Score)).one().metrics["TPR_FPR_1000"] == 0.25
    assert session.scalars(select(User)).one().role is Role.PARTICIPANT
    assert session.scalars(select(Registration)).one().terms_accepted_at.tzinfo is not None


@pytest.mark.parametrize(
    ("email", "name"), [("ada@example.org", "other"), ("ada2@example.org", "ADA")]
)
def test_email_and_display_name_are_unique(session: Session, email: str, name: str) -> None:
    """A second account with the same email, or the same name in another case, is refused by
    the database itself (not only by the service's check, which two requests could race)."""
    _user(session, "ada")
    session.add(User(email=email, display_name=name, password_hash="x"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_user_is_in_one_team_at_most(session: Session) -> None:
    """Joining a second team is refused by the schema."""
    user = _user(session)
    teams = [Team(name="a", invite_code="a"), Team(name="b", invite_code="b")]
    session.add_all(teams)
    session.flush()
    session.add(TeamMember(team_id=teams[0].id, user_id=user.id))
    session.flush()
    session.add(TeamMember(team_id=teams[1].id, user_id=user.id))
    with pytest.raises(IntegrityError):
        session.flush()


def test_an_unknown_status_is_refused_by_a_check_constraint(session: Session) -> None:
    """Even raw SQL cannot store a role outside participant, organizer and admin."""
    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO users (email, display_name, password_hash, role, is_active, "
                "created_at) VALUES ('x@example.org', 'x', 'h', 'superuser', true, "
                "CURRENT_TIMESTAMP)"
            )
        )


def test_deleting_a_competition_removes_its_tracks_and_truth(session: Session) -> None:
    """Foreign keys cascade on both backends (SQLite has them switched on)."""
    competition, _, scenario = _scenario(session)
    session.add(
        GroundTruth(
            scenario_id=scenario.id,
            split="dev",
            models=1,
            points_per_model=8,
            packed_labels=b"\x0f",
        )
    )
    session.flush()
    session.execute(text("DELETE FROM competitions WHERE id = :id"), {"id": competition.id})
    assert session.execute(text("SELECT count(*) FROM ground_truth")).scalar() == 0
