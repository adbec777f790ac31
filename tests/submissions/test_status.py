"""What a participant is told, on every surface: a disqualified submission says so (with the
reason, to its owner), and MICO's Final phase says that uploads are closed and which
submission is ranked, on the submit page, to an upload and when asked before one."""

from __future__ import annotations

from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf

ADMIN = "/api/v1/admin/competitions/mico"
TRACK = "/competitions/mico/tracks/cifar10"
UPLOADS = f"/api/v1{TRACK}/uploads"
FINAL = "Final phase: uploads are closed; your latest Development submission is ranked"


def _organizer(arena: Arena) -> dict[str, str]:
    return arena.participant("org@example.org", role=Role.ORGANIZER, register=False)[1]


def _signed_in(arena: Arena) -> dict[str, str]:
    """ada, registered to MICO and signed in in the browser: her API headers."""
    _, headers = arena.participant("ada@example.org")
    answer = arena.browser.post(
        "/login",
        data={
            "csrf_token": csrf(arena.browser, "/login"),
            "email": "ada@example.org",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return headers


def _phase_id(arena: Arena, organizer: dict[str, str], name: str) -> int:
    phases = arena.browser.get(f"{ADMIN}/phases", headers=organizer).json()
    (phase,) = [p for p in phases if p["name"] == name]
    return int(phase["id"])


def _open(arena: Arena, organizer: dict[str, str], name: str) -> None:
    opened = f"{ADMIN}/phases/{_phase_id(arena, organizer, name)}/open"
    answer = arena.browser.post(opened, headers=organizer)
    assert answer.status_code == 200, answer.text


def test_a_disqualified_submission_says_so_everywhere_its_owner_looks(arena: Arena) -> None:
    ada = _signed_in(arena)
    cheat = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    fair = arena.upload(ada, arena.zip("cifar10-weak")).json()["id"]
    assert arena.score_sent() == ["scored", "scored"]
    organizer = _organizer(arena)
    answer = arena.browser.post(
        f"{ADMIN}/submissions/{cheat}/disqualify",
        json={"reason": "trained on the labels"},
        headers=organizer,
    )
    assert answer.status_code == 200

    shown = arena.browser.get(f"/api/v1/submissions/{cheat}", headers=ada).json()
    assert shown["status"] == "disqualified" and shown["disqualified"] == "trained on the labels"
    assert shown["scores"]["dev"]["ranking_score"] > 0  # what it scored, still shown
    listed = arena.browser.get(f"/api/v1{TRACK}/submissions", headers=ada).json()
    statuses = {s["id"]: s["status"] for s in listed["submissions"]}
    assert statuses == {cheat: "disqualified", fair: "scored"}

    page = arena.browser.get(f"/submissions/{cheat}").text
    assert 'id="status">disqualified</span>' in page and ">scored</span>" not in page
    assert "so it is not ranked: trained on the labels" in page
    assert 'data-status="disqualified"' in page  # the live refresh stops
    rows = arena.browser.get(f"{TRACK}/submissions").text
    assert rows.count('class="badge disqualified">disqualified</span>') == 1
    assert rows.count('class="badge scored">scored</span>') == 1  # the fair one
    assert "trained on the labels" in rows

    arena.browser.post(
        f"{ADMIN}/submissions/{cheat}/disqualify", json={"reason": None}, headers=organizer
    )
    again = arena.browser.get(f"/api/v1/submissions/{cheat}", headers=ada).json()
    assert again["status"] == "scored" and again["disqualified"] is None


def test_during_the_final_phase_every_surface_says_uploads_are_closed_and_what_is_ranked(
    arena: Arena,
) -> None:
    ada = _signed_in(arena)
    before = arena.browser.get(UPLOADS, headers=ada).json()
    assert before["open"] is True and before["reason"] is None
    assert before["phase"] == "Development" and before["remaining_today"] == 30
    assert before["max_bytes"] == 2097152

    organizer = _organizer(arena)
    _open(arena, organizer, "Final")
    asked = arena.browser.get(UPLOADS, headers=ada).json()
    assert asked["open"] is False and asked["reason"] == FINAL and asked["phase"] is None
    page = arena.browser.get(f"{TRACK}/submit").text
    assert f'<p class="error" id="refused">{FINAL}</p>' in page
    assert "no phase is scheduled" not in page and '<form id="upload"' not in page
    refused = arena.upload(ada, arena.zip("cifar10-strong"))
    assert refused.status_code == 403 and refused.json()["detail"] == FINAL

    # The wording follows the policy of the phase whose submissions are ranked.
    changed = arena.browser.post(
        f"{ADMIN}/phases/{_phase_id(arena, organizer, 'Development')}",
        json={"leaderboard_policy": "best"},
        headers=organizer,
    )
    assert changed.status_code == 200, changed.text
    best = arena.browser.get(UPLOADS, headers=ada).json()["reason"]
    assert best == (
        "Final phase: uploads are closed; your best-scoring Development submission is ranked"
    )


def test_asking_before_an_upload_says_why_not_as_the_upload_would(arena: Arena) -> None:
    _, stranger = arena.participant("stranger@example.org", register=False)
    unregistered = arena.browser.get(UPLOADS, headers=stranger).json()
    assert unregistered["open"] is False and "register to" in unregistered["reason"]
    assert arena.browser.get(UPLOADS).status_code == 401
    _, ada = arena.participant("ada@example.org")
    missing = arena.browser.get("/api/v1/competitions/mico/tracks/imagenet/uploads", headers=ada)
    assert missing.status_code == 404 and "cifar10, ddp" in missing.json()["detail"]

    organizer = _organizer(arena)
    arena.browser.post(
        f"{ADMIN}/phases/{_phase_id(arena, organizer, 'Development')}",
        json={"max_per_day": 1},
        headers=organizer,
    )
    assert arena.upload(ada, arena.zip("cifar10-weak")).status_code == 202
    limited = arena.browser.get(UPLOADS, headers=ada).json()
    assert limited["open"] is False and limited["remaining_today"] == 0
    assert "you have made 1 of 1 submissions today" in limited["reason"]
    assert 0 < limited["retry_after"] <= 24 * 3600
    refused = arena.upload(ada, arena.zip("cifar10-weak"))
    assert refused.status_code == 429 and refused.json()["detail"] == limited["reason"]
