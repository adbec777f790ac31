"""A scoring run whose submission was queued again meanwhile (an organizer's rescore, new
ground truth) stores nothing and fails nothing: the newer run decides."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from app.core.db import committing
from app.models.ground_truth import GroundTruth
from app.models.scenario import Scenario
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.scoring.problems import InvalidInput, Problem
from app.submissions import pipeline
from tests.fixtures.arena import Arena


def _queue_again(arena: Arena, submission_id: int) -> None:
    """What a rescore or a ground-truth replacement does, committed, from another session."""
    with committing(arena.factory()) as session:
        pipeline.rescore(session, lambda _: None, [session.get_one(Submission, submission_id)])


def _status(arena: Arena, submission_id: int) -> SubmissionStatus:
    arena.session.expire_all()
    return arena.session.get_one(Submission, submission_id).status


def _uploaded(arena: Arena) -> int:
    _, ada = arena.participant("ada@example.org")
    submission: int = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.sent.clear()
    return submission


def test_scores_of_a_run_queued_again_meanwhile_are_dropped(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    submission = _uploaded(arena)
    real = pipeline.score_split

    def rescored_meanwhile(*args: Any, **kwargs: Any) -> Any:
        _queue_again(arena, submission)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "score_split", rescored_meanwhile)
    assert pipeline.score_submission(arena.factory, submission) == "skipped"
    assert _status(arena, submission) is SubmissionStatus.QUEUED
    monkeypatch.setattr(pipeline, "score_split", real)
    assert pipeline.score_submission(arena.factory, submission) == "scored"


def test_a_failure_of_a_run_queued_again_meanwhile_is_dropped(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    submission = _uploaded(arena)
    real = pipeline.read_submission

    def refused_after_a_rescore(*args: Any, **kwargs: Any) -> Any:
        _queue_again(arena, submission)
        raise InvalidInput([Problem("x.zip", "a fault of the old run")])

    monkeypatch.setattr(pipeline, "read_submission", refused_after_a_rescore)
    assert pipeline.score_submission(arena.factory, submission) == "skipped"
    assert _status(arena, submission) is SubmissionStatus.QUEUED
    monkeypatch.setattr(pipeline, "read_submission", real)
    assert pipeline.score_submission(arena.factory, submission) == "scored"


def test_missing_ground_truth_fails_only_while_it_is_still_missing(arena: Arena) -> None:
    submission = _uploaded(arena)
    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()
    scenarios = select(Scenario.id).where(Scenario.track_id == track.id)
    kept = [
        (row.scenario_id, row.split, row.models, row.points_per_model, row.packed_labels)
        for row in arena.session.scalars(
            select(GroundTruth).where(GroundTruth.scenario_id.in_(scenarios))
        )
    ]
    arena.session.execute(delete(GroundTruth).where(GroundTruth.scenario_id.in_(scenarios)))
    arena.session.commit()
    # The run found no labels; before it marks the submission failed, an organizer stores them.
    with pytest.raises(pipeline.MissingTruth) as missing:
        with committing(arena.factory()) as session:
            pipeline._claim(session, submission, 5)
    for scenario_id, split, models, points, packed in kept:
        arena.session.add(
            GroundTruth(
                scenario_id=scenario_id,
                split=split,
                models=models,
                points_per_model=points,
                packed_labels=packed,
            )
        )
    arena.session.commit()
    outcome = pipeline._fail(
        arena.factory, submission, str(missing.value), server_fault=True, claimed_at=None
    )
    assert outcome == "skipped" and _status(arena, submission) is SubmissionStatus.QUEUED
    assert pipeline.score_submission(arena.factory, submission) == "scored"
