"""Organizers' submissions: filtered list with exact scores of every split, rescoring, and
disqualification with a reason the participant sees; refused to everyone else."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from app.models.audit import AuditEntry
from app.models.submission import Submission
from app.models.user import Role
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import csrf

API = "/api/v1/admin/competitions/mico/submissions"
BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"


def test_organizers_see_exact_scores_of_every_split_and_filter(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    mine = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.upload(bob, arena.zip("ddp-weak"), track="ddp")
    arena.score_sent()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    rows = arena.browser.get(API, headers=organizer).json()
    assert len(rows) == 2
    only = arena.browser.get(API, params={"participant": "ADA"}, headers=organizer).json()
    assert [r["id"] for r in only] == [mine] and set(only[0]["rankings"]) == {"dev", "final"}
    assert (
        arena.browser.get(API, params={"track": "ddp"}, headers=organizer).json()[0]["participant"]
        == "bob"
    )
    assert arena.browser.get(API, params={"status": "failed"}, headers=organizer).json() == []
    assert arena.browser.get(API, headers=ada).status_code == 403
    assert arena.browser.get(API).status_code == 401


def test_a_disqualified_submission_leaves_the_leaderboard_and_its_owner_is_told(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    cheat = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.upload(bob, arena.zip("cifar10-weak"))
    arena.score_sent()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    path = f"{API}/{cheat}/disqualify"
    assert arena.browser.post(path, json={"reason": "x"}, headers=organizer).status_code == 422
    assert (
        arena.browser.post(path, json={"reason": "used the labels"}, headers=ada).status_code == 403
    )
    done = arena.browser.post(path, json={"reason": "trained on the labels"}, headers=organizer)
    assert done.json()["disqualified"] == "trained on the labels"
    board = arena.browser.get(BOARD).json()["entries"]
    assert [e["participant"] for e in board] == ["bob"]
    told = arena.browser.get(f"/api/v1/submissions/{cheat}", headers=ada).json()
    assert told["disqualified"] == "trained on the labels"
    restored = arena.browser.post(path, json={"reason": None}, headers=organizer).json()
    assert restored["disqualified"] is None
    assert [e["participant"] for e in arena.browser.get(BOARD).json()["entries"]] == ["ada", "bob"]
    actions = arena.session.scalars(select(AuditEntry.action)).all()
    assert {"submission.disqualify", "submission.requalify"} <= set(actions)


def test_rescoring_from_the_page_scores_again_once(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-medium")).json()["id"]
    arena.score_sent()
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    page = "/competitions/mico/admin/submissions"
    listing = arena.browser.get(page, params={"participant": "ada"}).text
    assert f'id="submission-{submission}"' in listing and "Rescore" in listing
    answer = arena.browser.post(
        f"{page}/{submission}/rescore", data={"csrf_token": csrf(arena.browser, page)}
    )
    assert answer.status_code == 200 and arena.sent == [submission]
    assert arena.score_sent() == ["scored"]
    again = arena.browser.post(f"{API}/{submission}/rescore")
    assert again.status_code == 401


def test_the_export_carries_score_and_rank_intervals(arena: Arena) -> None:
    """Once the intervals job has run, each exported row has its 95% score interval around
    its score and its rank interval and group; a CSV cell is empty where none is computed."""
    _, ada = arena.participant("ada@example.org")
    _, bo = arena.participant("bo@example.org")
    arena.upload(ada, arena.zip("cifar10-strong"))
    arena.upload(bo, arena.zip("cifar10-random"))
    arena.score_sent()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    export = "/api/v1/admin/competitions/mico/tracks/cifar10/export"
    before = arena.browser.get(export, params={"format": "csv"}, headers=organizer).text
    header = before.splitlines()[0].split(",")
    assert header[5:10] == ["ci_low", "ci_high", "rank_low", "rank_high", "group"]
    assert before.splitlines()[1].split(",")[5:10] == [""] * 5  # not computed yet
    assert arena.intervals_sent() == ["done", "done"]
    rows = arena.browser.get(export, headers=organizer).json()
    dev = [r for r in rows if r["split"] == "dev"]
    assert [r["participant"] for r in dev] == ["ada", "bo"]
    for row in dev:
        assert row["ci_low"] <= row["ranking_score"] <= row["ci_high"]
    assert (dev[0]["rank_low"], dev[0]["rank_high"], dev[0]["group"]) == (1, 1, 1)
    assert dev[1]["rank_low"] == 2 and dev[1]["group"] == 2


def test_results_export_with_provenance_and_the_audit_log(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.score_sent()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    export = "/api/v1/admin/competitions/mico/tracks/cifar10/export"
    assert arena.browser.get(export, headers=ada).status_code == 403
    rows = arena.browser.get(export, headers=organizer).json()
    assert [(r["split"], r["submission_id"]) for r in rows] == [
        ("dev", submission),
        ("final", submission),
    ]
    stored = arena.session.get_one(Submission, submission)
    assert (
        rows[0]["sha256"]
        == stored.sha256
        == hashlib.sha256(arena.zip("cifar10-strong")).hexdigest()
    )
    assert rows[0]["scorer_version"].startswith("mia-arena")
    assert rows[0]["ground_truth_sha256"] != rows[1]["ground_truth_sha256"]  # dev, final
    assert len(rows[0]["ground_truth_sha256"]) == 64
    table = arena.browser.get(export, params={"format": "csv"}, headers=organizer)
    assert table.text.splitlines()[0].startswith("split,rank,participant,submission_id")
    assert len(table.text.splitlines()) == 3

    log = arena.browser.get(
        "/api/v1/admin/competitions/mico/audit", params={"action": "results."}, headers=organizer
    ).json()
    assert [(e["action"], e["actor"]) for e in log] == [
        ("results.export", "org"),
        ("results.export", "org"),
    ]
    everything = arena.browser.get(
        "/api/v1/admin/competitions/mico/audit", headers=organizer
    ).json()
    assert "competition.import-mico" in {e["action"] for e in everything}
    assert (
        arena.browser.get("/api/v1/admin/competitions/mico/audit", headers=ada).status_code == 403
    )
    _sign_in(arena, "org@example.org")
    page = arena.browser.get("/competitions/mico/admin/audit", params={"action": "results."}).text
    assert page.count("<code>results.export</code>") == 2 and "command line" not in page
