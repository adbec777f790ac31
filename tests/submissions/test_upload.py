"""Uploading by API: queued then scored, every refusal with its status and reason, limits,
and who may see a submission. Scoring runs the real task code, in the test's thread."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import timedelta

import numpy as np
from sqlalchemy import func, select, update

from app.competitions.service import import_mico
from app.models.base import utcnow
from app.models.ground_truth import GroundTruth
from app.models.phase import Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.scenario import Scenario
from app.models.score import Score
from app.models.submission import Submission
from app.models.user import Role
from app.scoring.definition import MICO
from app.scoring.readers import read_submission, read_truth
from app.scoring.scorer import score_split
from app.submissions.pipeline import rescore, score_submission
from app.teams import service as teams
from tests.fixtures.arena import Arena


def _broken(data: bytes) -> bytes:
    """The zip with 199 values in its first file, and its second file left out."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for i, name in enumerate(source.namelist()):
            if i == 0:
                target.writestr(name, "0.5\n" * 199)
            elif i != 1:
                target.writestr(name, source.read(name))
    return out.getvalue()


def _noted(data: bytes, *, drop_first: bool = False) -> bytes:
    """The zip with a README and one train file added (its first file left out if told)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist()[1 if drop_first else 0 :]:
            target.writestr(name, source.read(name))
        target.writestr("README.md", "# LiRA, 16 shadow models")
        target.writestr("cifar10/cifar10_hi/train/model_0/prediction.csv", "0.5\n" * 200)
    return out.getvalue()


def _count(arena: Arena) -> int:
    return arena.session.scalar(select(func.count()).select_from(Submission)) or 0


def _development(arena: Arena, **values: object) -> None:
    arena.session.execute(update(Phase).where(Phase.name == "Development").values(**values))
    arena.session.commit()


def test_an_upload_is_queued_after_commit_then_scored_with_dev_shown(arena: Arena) -> None:
    """202 and queued; sent to the scorer once stored; scored exactly as the scorer scores it,
    and only dev is shown while final stays withheld."""
    _, headers = arena.participant("ada@example.org")
    data = arena.zip("cifar10-strong")
    answer = arena.upload(headers, data, description="LiRA, 16 shadows")
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert queued["status"] == "queued" and queued["scores"] == {} and queued["track"] == "cifar10"
    assert arena.sent == [queued["id"]]

    assert arena.score_sent() == ["scored"]
    scored = arena.browser.get(f"/api/v1/submissions/{queued['id']}", headers=headers).json()
    truth = read_truth(arena.demo / "truth")
    expected = score_split(read_submission(data, track="cifar10"), truth, MICO, "dev")
    assert scored["status"] == "scored" and set(scored["scores"]) == {"dev"}
    assert scored["scores"]["dev"]["ranking_score"] == expected.ranking_score
    assert scored["scores"]["dev"]["scenarios"] == {
        name: s.metrics for name, s in expected.scenarios.items()
    }
    assert scored["description"] == "LiRA, 16 shadows" and scored["scoring_ms"] > 0
    assert scored["queue_ms"] >= 0 and scored["scored_at"] is not None
    stored = arena.session.scalars(select(Score.split).where(Score.submission_id == queued["id"]))
    assert sorted(stored) == ["dev"] * 3 + ["final"] * 3  # final computed, not shown


def test_an_invalid_zip_gets_every_problem_and_nothing_is_stored(arena: Arena) -> None:
    _, headers = arena.participant("ada@example.org")
    answer = arena.upload(headers, _broken(arena.zip("cifar10-strong")))
    assert answer.status_code == 422
    body = answer.json()
    assert (
        "not a valid cifar10 submission" in body["detail"]
        and "nothing was stored" in body["detail"]
    )
    assert any("model_100/prediction.csv" in e and "199" in e for e in body["errors"])
    assert any("model_101" in e for e in body["errors"])
    assert _count(arena) == 0 and arena.sent == []
    assert arena.upload(headers, b"not a zip").status_code == 422
    assert arena.upload(headers, arena.zip("ddp-strong")).status_code == 422  # wrong track


def test_an_upload_says_what_was_ignored_and_scores_as_without_it(arena: Arena) -> None:
    """A README and a train file are ignored: 202 with both named in `warnings`, and the
    scores are those of the zip without them."""
    _, headers = arena.participant("ada@example.org")
    data = arena.zip("cifar10-strong")
    answer = arena.upload(headers, _noted(data))
    assert answer.status_code == 202, answer.text
    assert answer.json()["warnings"] == [
        "README.md: is not a prediction file: ignored",
        "train/ is not scored: ignored (1 file)",
    ]
    assert arena.upload(headers, data).json()["warnings"] == []
    assert arena.score_sent() == ["scored", "scored"]
    scored = [
        arena.browser.get(f"/api/v1/submissions/{i}", headers=headers).json()["scores"]
        for i in arena.session.scalars(select(Submission.id).order_by(Submission.id))
    ]
    assert scored[0] == scored[1] and scored[0]["dev"]["ranking_score"] > 0


def test_a_phase_scoring_dev_alone_ignores_a_partial_final_split(arena: Arena) -> None:
    """Checked at upload for dev only, a zip with half its final split is scored on dev, as
    the upload said (final ignored), not failed by the scorer for the split it ignored."""
    _, headers = arena.participant("ada@example.org")
    _development(arena, scored_splits=["dev"])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(arena.zip("cifar10-strong"))) as source:
        with zipfile.ZipFile(out, "w") as target:
            for name in source.namelist():
                if "/final/model_17" not in name:
                    target.writestr(name, source.read(name))
    answer = arena.upload(headers, out.getvalue())
    assert answer.status_code == 202, answer.text
    assert answer.json()["warnings"] == ["final/ is not scored: ignored (120 files)"]
    assert arena.score_sent() == ["scored"]


def test_sizes_over_the_limit_are_413(arena: Arena) -> None:
    _, headers = arena.participant("ada@example.org")
    _development(arena, max_bytes=100_000)
    answer = arena.upload(headers, arena.zip("cifar10-strong"))
    assert answer.status_code == 413 and "takes at most 97.7 KB" in answer.json()["detail"]
    # Over the server's own cap: refused at its Content-Length, before anything reads it.
    huge = arena.upload(headers, b"x" * (3 * 1024 * 1024))
    assert huge.status_code == 413 and "Too Large" in huge.text
    assert _count(arena) == 0


def test_who_may_not_upload_is_told_why(arena: Arena) -> None:
    """Not registered, waiting for approval, banned, no open phase: 403 saying what to do;
    an unknown track: 404 naming the tracks."""
    data = arena.zip("cifar10-strong")
    _, stranger = arena.participant("eve@example.org", register=False)
    answer = arena.upload(stranger, data)
    assert answer.status_code == 403 and "register to" in answer.json()["detail"]

    user, headers = arena.participant("ada@example.org")
    for status, says in [
        (RegistrationStatus.PENDING, "waits"),
        (RegistrationStatus.BANNED, "banned"),
    ]:
        arena.session.execute(
            update(Registration).where(Registration.user_id == user.id).values(status=status)
        )
        arena.session.commit()
        answer = arena.upload(headers, data)
        assert answer.status_code == 403 and says in answer.json()["detail"]
    arena.session.execute(update(Registration).values(status=RegistrationStatus.APPROVED))
    opens = utcnow() + timedelta(days=3)
    _development(arena, accepts_uploads=False)
    arena.session.execute(
        update(Phase).where(Phase.name == "Final").values(accepts_uploads=True, starts_at=opens)
    )
    arena.session.commit()
    answer = arena.upload(headers, data)
    assert answer.status_code == 403
    assert f"the next opens at {opens:%Y-%m-%d %H:%M} UTC" in answer.json()["detail"]
    unknown = arena.upload(headers, data, track="imagenet")
    assert unknown.status_code == 404 and "cifar10, ddp" in unknown.json()["detail"]
    assert _count(arena) == 0


def test_the_daily_limit_429s_until_midnight_utc_and_server_faults_do_not_count(
    arena: Arena,
) -> None:
    _, headers = arena.participant("ada@example.org")
    _development(arena, max_per_day=2)
    data = arena.zip("cifar10-weak")
    first, _ = (arena.upload(headers, data).json()["id"] for _ in range(2))
    refused = arena.upload(headers, data)
    assert refused.status_code == 429
    now = utcnow()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(int(refused.headers["Retry-After"]) - (midnight - now).total_seconds()) < 30
    assert "resets at" in refused.json()["detail"] and "midnight UTC" in refused.json()["detail"]

    # A failure of the server gives the upload back; a content failure would not.
    arena.session.execute(
        update(Submission).where(Submission.id == first).values(status="failed", server_fault=True)
    )
    arena.session.commit()
    assert arena.upload(headers, data).status_code == 202
    assert arena.upload(headers, data).status_code == 429

    # Yesterday's submissions do not count today.
    yesterday = now - timedelta(days=1)
    arena.session.execute(update(Submission).values(created_at=yesterday))
    arena.session.commit()
    assert arena.upload(headers, data).status_code == 202


def test_the_total_limit_429s(arena: Arena) -> None:
    _, headers = arena.participant("ada@example.org")
    _development(arena, max_total=1)
    data = arena.zip("cifar10-weak")
    assert arena.upload(headers, data).status_code == 202
    refused = arena.upload(headers, data)
    assert refused.status_code == 429 and "all 1 submissions" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0


def test_only_the_owner_their_team_and_organizers_see_a_submission(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    _, eve_headers = arena.participant("eve@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    data = arena.zip("cifar10-medium")
    submission = arena.upload(ada_headers, data).json()["id"]
    path = f"/api/v1/submissions/{submission}"

    hidden = arena.browser.get(path, headers=eve_headers)
    missing = arena.browser.get("/api/v1/submissions/999999", headers=eve_headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == f"there is no submission {submission}"
    assert arena.browser.get(path + "/zip", headers=eve_headers).status_code == 404
    assert arena.browser.get(path, headers=bob_headers).status_code == 404
    assert arena.browser.get(path).status_code == 401

    team = teams.create_team(arena.session, ada, "Shadow Models")
    teams.join_team(arena.session, bob, team.invite_code)
    arena.session.commit()
    # Made before the team existed: still ada's alone. Made as the team: the team's.
    assert arena.browser.get(path, headers=bob_headers).status_code == 404
    shared = arena.upload(ada_headers, data).json()["id"]
    assert (
        arena.browser.get(f"/api/v1/submissions/{shared}", headers=bob_headers).status_code == 200
    )
    assert arena.browser.get(path + "/zip", headers=organizer).content == data
    assert (
        arena.browser.get(path + "/zip", headers=ada_headers).headers["content-type"]
        == "application/zip"
    )


def test_the_list_is_newest_first_paginated_and_shared_by_the_team(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    team = teams.create_team(arena.session, ada, "Shadow Models")
    teams.join_team(arena.session, bob, team.invite_code)
    arena.session.commit()
    data = arena.zip("cifar10-weak")
    ids = [arena.upload(h, data).json()["id"] for h in (ada_headers, bob_headers, ada_headers)]
    path = "/api/v1/competitions/mico/tracks/cifar10/submissions"
    first = arena.browser.get(path, params={"limit": 2}, headers=bob_headers).json()
    assert [s["id"] for s in first["submissions"]] == ids[::-1][:2]
    assert first["total"] == 3 and first["next_offset"] == 2
    rest = arena.browser.get(path, params={"limit": 2, "offset": 2}, headers=ada_headers).json()
    assert [s["id"] for s in rest["submissions"]] == ids[:1] and rest["next_offset"] is None
    _, eve = arena.participant("eve@example.org")
    assert arena.browser.get(path, headers=eve).json()["total"] == 0


def test_missing_ground_truth_fails_as_the_servers_fault_and_is_not_counted(
    arena: Arena,
) -> None:
    _, headers = arena.participant("ada@example.org")
    _development(arena, max_total=1)
    hi = select(Scenario.id).where(Scenario.name == "cifar10_hi").scalar_subquery()
    arena.session.execute(
        GroundTruth.__table__.delete().where(
            GroundTruth.scenario_id == hi, GroundTruth.split == "final"
        )
    )
    arena.session.commit()
    submission = arena.upload(headers, arena.zip("cifar10-strong")).json()["id"]
    assert arena.score_sent() == ["failed"]
    failed = arena.browser.get(f"/api/v1/submissions/{submission}", headers=headers).json()
    assert failed["status"] == "failed" and "cifar10_hi (final)" in failed["error"]
    assert "does not count" in failed["error"] and "rescore" in failed["error"]
    assert arena.upload(headers, arena.zip("cifar10-strong")).status_code == 202
    arena.sent.clear()

    # The organizers store the labels and rescore what failed for want of them.
    import_mico(arena.session, arena.demo / "truth")
    failed_rows = arena.session.scalars(
        select(Submission).where(Submission.server_fault.is_(True))
    ).all()
    assert rescore(arena.session, arena.sent.send, list(failed_rows)) == [submission]
    arena.session.commit()
    assert arena.score_sent() == ["scored"]
    assert (
        arena.browser.get(f"/api/v1/submissions/{submission}", headers=headers).json()["status"]
        == "scored"
    )


def test_scoring_twice_leaves_one_set_of_scores(arena: Arena) -> None:
    _, headers = arena.participant("ada@example.org")
    submission = arena.upload(headers, arena.zip("cifar10-strong")).json()["id"]
    arena.sent.append(submission)
    assert arena.score_sent() == ["scored", "skipped"]
    arena.session.execute(
        update(Submission).where(Submission.id == submission).values(status="queued")
    )
    arena.session.commit()
    arena.sent.append(submission)
    assert arena.score_sent() == ["scored"]
    scores = arena.session.scalars(select(Score).where(Score.submission_id == submission)).all()
    assert len(scores) == 6
    row = arena.session.get_one(Submission, submission)
    arena.session.refresh(row)
    assert row.attempts == 2 and row.scorer_version and row.scorer_version.startswith("mia-arena")
    assert all(np.isfinite(list(s.metrics.values())).all() for s in scores)


def test_waiting_for_a_score_answers_once_done_or_when_the_wait_is_over(arena: Arena) -> None:
    _, headers = arena.participant("ada@example.org")
    submission = arena.upload(headers, arena.zip("cifar10-weak")).json()["id"]
    path = f"/api/v1/submissions/{submission}"
    started = time.monotonic()
    queued = arena.browser.get(path, params={"wait": 0.3}, headers=headers).json()
    assert queued["status"] == "queued" and time.monotonic() - started >= 0.3
    arena.score_sent()
    started = time.monotonic()
    scored = arena.browser.get(path, params={"wait": 20}, headers=headers).json()
    assert scored["status"] == "scored" and time.monotonic() - started < 5
    too_long = arena.browser.get(path, params={"wait": 31}, headers=headers)
    assert too_long.status_code == 422


def test_a_team_does_not_start_the_count_again(arena: Arena) -> None:
    """Making a team, joining one or leaving it keeps what was already submitted counted."""
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    _development(arena, max_total=2)
    data = arena.zip("cifar10-weak")
    assert arena.upload(ada_headers, data).status_code == 202
    team = teams.create_team(arena.session, ada, "Shadow Models")
    arena.session.commit()
    assert arena.upload(ada_headers, data).status_code == 202
    assert arena.upload(ada_headers, data).status_code == 429  # 2 of 2, team or not
    teams.join_team(arena.session, bob, team.invite_code)
    arena.session.commit()
    assert arena.upload(bob_headers, data).status_code == 429  # the team has used both
    teams.leave_team(arena.session, ada)
    arena.session.commit()
    assert arena.upload(ada_headers, data).status_code == 429  # ada's own two still count


def test_a_submission_out_of_attempts_fails_as_the_servers_fault(arena: Arena) -> None:
    """A zip that kept killing its worker is not scored for ever: after the attempts, failed."""
    _, headers = arena.participant("ada@example.org")
    submission = arena.upload(headers, arena.zip("cifar10-weak")).json()["id"]
    arena.session.execute(update(Submission).where(Submission.id == submission).values(attempts=5))
    arena.session.commit()
    assert score_submission(arena.factory, submission, attempts=5) == "skipped"
    row = arena.session.get_one(Submission, submission)
    arena.session.refresh(row)
    assert row.status.value == "failed" and row.server_fault and "5 attempts" in (row.error or "")


def test_odd_requests_get_the_right_answer(arena: Arena) -> None:
    _, headers = arena.participant("ada@example.org")
    for huge in ("2147483648", "9" * 20):
        assert arena.browser.get(f"/api/v1/submissions/{huge}", headers=headers).status_code == 404
    # A file sent as a plain field: 422 naming it, without the megabyte echoed back.
    answer = arena.browser.post(
        "/api/v1/competitions/mico/tracks/cifar10/submissions",
        headers=headers,
        data={"file": "x" * 300_000},
    )
    assert answer.status_code == 422 and len(answer.content) < 2000
    assert answer.json()["detail"][0]["loc"] == ["body", "file"]
    nul = arena.upload(headers, arena.zip("cifar10-weak"), description="a\x00b")
    assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
