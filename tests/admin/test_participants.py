"""Organizers run who takes part: the participants page and API, approve, reject, ban and
unban (a banned participant can do nothing and leaves the leaderboards), and limits of a
participant's own that replace the phase's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.registration import Registration, RegistrationStatus
from app.models.submission import Submission
from app.models.user import Role, User
from app.teams import service as teams
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import csrf

API = "/api/v1/admin/competitions/mico/participants"
PAGE = "/competitions/mico/admin/participants"
BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"


def _status(arena: Arena, user: User) -> RegistrationStatus:
    arena.session.expire_all()
    return arena.session.scalars(
        select(Registration.status).where(Registration.user_id == user.id)
    ).one()


def _actions(arena: Arena) -> list[str]:
    return list(arena.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _development(arena: Arena, **values: object) -> None:
    arena.session.execute(update(Phase).where(Phase.name == "Development").values(**values))
    arena.session.commit()


def _pending(arena: Arena, email: str) -> tuple[User, dict[str, str]]:
    """A participant whose registration waits for approval."""
    arena.session.execute(update(Competition).values(requires_approval=True))
    arena.session.commit()
    user, headers = arena.participant(email)
    arena.session.execute(update(Competition).values(requires_approval=False))
    arena.session.commit()
    return user, headers


def test_the_page_lists_every_registration_with_what_organizers_need(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    bob, _ = _pending(arena, "bob@example.org")
    arena.participant("eve@example.org", register=False)  # not registered: not listed
    teams.create_team(arena.session, ada, "Shadow Models")
    arena.session.commit()
    for _ in range(2):
        assert arena.upload(ada_headers, arena.zip("cifar10-weak")).status_code == 202
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")

    page = arena.browser.get(PAGE)
    assert page.status_code == 200
    row = page.text.split(f'id="user-{ada.id}"')[1].split("</tr>")[0]
    assert "ada@example.org" in row and "Shadow Models" in row and ">2</a>" in row
    assert "approved" in row and ">the phase's</span>" in row
    assert "eve@example.org" not in page.text
    waiting = arena.browser.get(PAGE, params={"status": "pending"}).text
    assert "bob@example.org" in waiting and "ada@example.org" not in waiting
    assert (
        f"/participants/{bob.id}/approve" in waiting and f"/participants/{bob.id}/reject" in waiting
    )
    found = arena.browser.get(PAGE, params={"search": "SHADOW"}).text
    assert "ada@example.org" in found and "bob@example.org" not in found
    # A search is text, never a pattern or markup.
    for odd in ("%", "_", "<script>alert(1)</script>"):
        answer = arena.browser.get(PAGE, params={"search": odd})
        assert answer.status_code == 200 and "No participant matches." in answer.text
        assert "<script>alert(1)" not in answer.text
    assert arena.browser.get(PAGE, params={"search": "x" * 65}).status_code == 422
    assert arena.browser.get(PAGE, params={"status": "nonsense"}).status_code == 200
    show = arena.browser.get("/competitions/mico/admin").text
    assert PAGE in show  # linked from the competition's Admin tab


def test_approve_reject_ban_and_unban_in_the_browser_each_audited(arena: Arena) -> None:
    bob, bob_headers = _pending(arena, "bob@example.org")
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    token = csrf(arena.browser, PAGE)

    forged = arena.browser.post(f"{PAGE}/{bob.id}/approve", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and _status(arena, bob) is RegistrationStatus.PENDING
    approved = arena.browser.post(f"{PAGE}/{bob.id}/approve", data={"csrf_token": token})
    assert approved.status_code == 200 and _status(arena, bob) is RegistrationStatus.APPROVED
    refused = arena.browser.post(f"{PAGE}/{bob.id}/reject", data={"csrf_token": token})
    assert refused.status_code == 409 and "ban them to keep them out" in refused.text
    assert _status(arena, bob) is RegistrationStatus.APPROVED
    assert (
        arena.browser.post(f"{PAGE}/{bob.id}/explode", data={"csrf_token": token}).status_code
        == 422
    )
    assert (
        arena.browser.post(f"{PAGE}/{bob.id}/unban", data={"csrf_token": token}).status_code == 422
    )

    banned = arena.browser.post(f"{PAGE}/{bob.id}/ban", data={"csrf_token": token})
    assert banned.status_code == 200 and f"/participants/{bob.id}/unban" in banned.text
    upload = arena.upload(bob_headers, arena.zip("cifar10-weak"))
    assert upload.status_code == 403 and "banned" in upload.json()["detail"]
    again = arena.browser.post(
        "/api/v1/competitions/mico/registration", json={"accept_terms": True}, headers=bob_headers
    )
    assert again.status_code == 403 and "banned" in again.json()["detail"]

    arena.browser.post(f"{PAGE}/{bob.id}/unban", data={"csrf_token": token})
    assert _status(arena, bob) is RegistrationStatus.APPROVED
    assert arena.upload(bob_headers, arena.zip("cifar10-weak")).status_code == 202
    assert _actions(arena)[-3:] == [
        "registration.approved",
        "registration.banned",
        "registration.unbanned",
    ]
    for bad in ("999999", str(2**40), "-1"):
        missing = arena.browser.post(f"{PAGE}/{bad}/ban", data={"csrf_token": token})
        assert missing.status_code == 404, bad


def test_a_banned_participant_leaves_the_leaderboard_and_comes_back_when_unbanned(
    arena: Arena,
) -> None:
    """Their submissions stay stored; a banned member's uploads leave their team's ranking,
    their teammates' stay; a banned participant cannot pin."""
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    carl, carl_headers = arena.participant("carl@example.org")
    _development(arena, allow_pinning=True)
    team = teams.create_team(arena.session, bob, "Shadow Models")
    teams.join_team(arena.session, carl, team.invite_code)
    arena.session.commit()
    carls = arena.upload(carl_headers, arena.zip("cifar10-weak")).json()["id"]
    bobs = arena.upload(bob_headers, arena.zip("cifar10-medium")).json()["id"]  # the latest
    adas = arena.upload(ada_headers, arena.zip("cifar10-strong")).json()["id"]
    arena.score_sent()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)

    def board() -> list[tuple[str, int]]:
        entries = arena.browser.get(BOARD).json()["entries"]
        return [(e["participant"], e["submission_id"]) for e in entries]

    assert board() == [("ada", adas), ("Shadow Models", bobs)]
    for user in (ada, bob):
        answer = arena.browser.patch(
            f"{API}/{user.id}", json={"status": "banned"}, headers=organizer
        )
        assert answer.status_code == 200 and answer.json()["status"] == "banned"
    assert board() == [("Shadow Models", carls)]  # bob's upload left, carl's represents them
    stored = arena.session.scalar(select(func.count()).select_from(Submission))
    assert stored == 3
    assert arena.browser.get(f"/api/v1/submissions/{adas}", headers=ada_headers).status_code == 200
    pin = arena.browser.post(f"/api/v1/submissions/{adas}/pin", headers=ada_headers)
    assert pin.status_code == 403 and "banned" in pin.json()["detail"]

    unbanned = arena.browser.patch(
        f"{API}/{ada.id}", json={"status": "approved"}, headers=organizer
    )
    assert unbanned.json()["status"] == "approved"
    assert board() == [("ada", adas), ("Shadow Models", carls)]
    assert "registration.unbanned" in _actions(arena)


def test_own_limits_raise_and_lower_the_phases_with_429_as_before(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _development(arena, max_per_day=1, max_total=1000)
    data = arena.zip("cifar10-weak")

    raised = arena.browser.patch(f"{API}/{ada.id}", json={"max_per_day": 3}, headers=organizer)
    assert raised.json()["max_per_day"] == 3 and raised.json()["max_total"] is None
    assert [arena.upload(ada_headers, data).status_code for _ in range(3)] == [202, 202, 202]
    refused = arena.upload(ada_headers, data)
    assert refused.status_code == 429 and "3 of 3 submissions today" in refused.json()["detail"]
    now = utcnow()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(int(refused.headers["Retry-After"]) - (midnight - now).total_seconds()) < 30

    lowered = arena.browser.patch(f"{API}/{bob.id}", json={"max_total": 1}, headers=organizer)
    assert lowered.json()["max_total"] == 1
    assert arena.upload(bob_headers, data).status_code == 202
    _development(arena, max_per_day=30)
    refused = arena.upload(bob_headers, data)
    assert refused.status_code == 429 and "all 1 submissions" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0

    cleared = arena.browser.patch(f"{API}/{bob.id}", json={"max_total": None}, headers=organizer)
    assert cleared.json()["max_total"] is None
    assert arena.upload(bob_headers, data).status_code == 202  # the phase's 1000 again
    entries = arena.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "registration.limits")
    ).all()
    assert {"user_id": bob.id, "max_per_day": None, "max_total": 1} in entries


def test_in_a_team_each_members_own_limit_applies_to_their_uploads(arena: Arena) -> None:
    """The count is the team's, shared; the limit is the uploader's own, or the phase's."""
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    team = teams.create_team(arena.session, ada, "Shadow Models")
    teams.join_team(arena.session, bob, team.invite_code)
    arena.session.commit()
    _development(arena, max_per_day=1)
    arena.browser.patch(f"{API}/{ada.id}", json={"max_per_day": 2}, headers=organizer)
    data = arena.zip("cifar10-weak")
    assert arena.upload(bob_headers, data).status_code == 202
    assert arena.upload(bob_headers, data).status_code == 429  # 1 of the phase's 1
    assert arena.upload(ada_headers, data).status_code == 202  # 2 of her 2, team's count
    assert arena.upload(ada_headers, data).status_code == 429


def test_limits_from_the_page_and_nonsense_refused(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    token = csrf(arena.browser, PAGE)
    path = f"{PAGE}/{ada.id}/limits"
    saved = arena.browser.post(path, data={"csrf_token": token, "max_per_day": "0"})
    assert saved.status_code == 200 and "<strong>0 / phase</strong>" in saved.text
    refused = arena.upload(ada_headers, arena.zip("cifar10-weak"))
    assert refused.status_code == 429 and "0 of 0" in refused.json()["detail"]
    for bad in ("-1", "2.5", "1e3", "10000000", "١٢"):
        answer = arena.browser.post(path, data={"csrf_token": token, "max_per_day": bad})
        assert answer.status_code == 422, bad
    arena.session.expire_all()
    registration = arena.session.scalars(
        select(Registration).where(Registration.user_id == ada.id)
    ).one()
    assert registration.max_per_day == 0  # nothing changed by the refusals
    cleared = arena.browser.post(path, data={"csrf_token": token, "max_per_day": ""})
    assert ">the phase's</span>" in cleared.text.split(f'id="user-{ada.id}"')[1].split("</tr>")[0]


def test_the_api_lists_filters_and_refuses_odd_changes(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    bob, _ = _pending(arena, "bob@example.org")
    eve, _ = arena.participant("eve@example.org", register=False)
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    rows = arena.browser.get(API, headers=organizer).json()
    assert [(r["display_name"], r["status"]) for r in rows] == [
        ("ada", "approved"),
        ("bob", "pending"),
    ]
    assert set(rows[0]) >= {"email", "team", "registered_at", "terms_accepted_at", "submissions"}
    only = arena.browser.get(API, params={"status": "pending"}, headers=organizer).json()
    assert [r["user_id"] for r in only] == [bob.id]
    assert (
        arena.browser.get(API, params={"search": "ADA@"}, headers=organizer).json()[0]["user_id"]
        == ada.id
    )
    assert arena.browser.get(API, params={"status": "odd"}, headers=organizer).status_code == 422
    assert arena.browser.get(API, params={"limit": 0}, headers=organizer).status_code == 422

    patch = f"{API}/{bob.id}"
    for body in (
        {"max_per_day": -1},
        {"max_total": 1_000_001},
        {"max_per_day": "many"},
        {"status": "royalty"},
        {"nickname": "x"},
    ):
        assert arena.browser.patch(patch, json=body, headers=organizer).status_code == 422, body
    back = arena.browser.patch(f"{API}/{ada.id}", json={"status": "pending"}, headers=organizer)
    assert back.status_code == 409 and "pending" in back.json()["detail"]
    rejected = arena.browser.patch(patch, json={"status": "rejected"}, headers=organizer).json()
    assert rejected["status"] == "rejected"
    same = arena.browser.patch(patch, json={"status": "rejected"}, headers=organizer)
    assert same.status_code == 200  # the same status again changes nothing
    assert _actions(arena).count("registration.rejected") == 1
    for missing in (eve.id, 999999, 2**40, 0):
        answer = arena.browser.patch(f"{API}/{missing}", json={}, headers=organizer)
        assert answer.status_code == 404, missing
    assert (
        arena.browser.patch(patch, json={"status": "approved"}, headers=ada_headers).status_code
        == 403
    )
    assert arena.browser.patch(patch, json={"status": "approved"}).status_code == 401
    assert _status(arena, bob) is RegistrationStatus.REJECTED
