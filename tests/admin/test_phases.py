"""Organizers run the phases: MICO's flow from Development to Final and the reveal, in the
browser alone; participants and anonymous visitors are refused every admin route."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.registration import Registration
from app.models.scenario import Scenario
from app.models.submission import Submission
from app.models.track import Track
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf


def _sign_in(arena: Arena, email: str) -> None:
    answer = arena.browser.post(
        "/login",
        data={"csrf_token": csrf(arena.browser, "/login"), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def _phase(arena: Arena, name: str) -> Phase:
    phase = arena.session.scalars(select(Phase).where(Phase.name == name)).one()
    arena.session.refresh(phase)
    return phase


def test_an_organizer_runs_mico_from_development_to_the_reveal_in_the_browser(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    for headers, attack in ((ada, "strong"), (bob, "weak")):
        arena.upload(headers, arena.zip(f"cifar10-{attack}"))
    arena.score_sent()
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    page = "/competitions/mico/admin/phases"
    assert "Development" in arena.browser.get(page).text
    final = _phase(arena, "Final")

    opened = arena.browser.post(
        f"{page}/{final.id}/open", data={"csrf_token": csrf(arena.browser, page)}
    )
    assert opened.status_code == 200 and "Phases" in opened.text
    development = _phase(arena, "Development")
    assert development.ends_at is not None and development.ends_at <= utcnow()
    assert _phase(arena, "Final").starts_at is not None
    closed = arena.upload(ada, arena.zip("cifar10-medium"))
    assert closed.status_code == 403
    assert closed.json()["detail"].startswith("Final phase: uploads are closed")

    board = "/competitions/mico/tracks/cifar10/leaderboard?split=final"
    assert ">ada<" in arena.browser.get(board).text  # organizers see final before the reveal
    arena.browser.cookies.clear()
    assert ">ada<" not in arena.browser.get(board).text
    _sign_in(arena, "org@example.org")
    revealed = arena.browser.post(
        "/competitions/mico/reveal", data={"csrf_token": csrf(arena.browser, board)}
    )
    assert revealed.status_code == 200
    arena.browser.cookies.clear()
    public = arena.browser.get(board).text
    assert public.index(">ada<") < public.index(">bob<")
    actions = arena.session.scalars(select(AuditEntry.action)).all()
    assert {"phase.open", "leaderboard.reveal"} <= set(actions)


def test_the_phase_form_changes_dates_and_limits_and_refuses_nonsense(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    page = "/competitions/mico/admin/phases"
    development = _phase(arena, "Development")
    start = utcnow() - timedelta(days=1)
    form = {
        "csrf_token": csrf(arena.browser, page),
        "starts_at": f"{start:%Y-%m-%d %H:%M}",
        "ends_at": f"{start - timedelta(hours=1):%Y-%m-%d %H:%M}",
        "max_per_day": "5",
        "max_total": "50",
        "leaderboard_policy": "best",
        "accepts_uploads": "true",
    }
    refused = arena.browser.post(f"{page}/{development.id}", data=form)
    assert refused.status_code == 422 and "before it starts" in refused.text
    assert _phase(arena, "Development").max_per_day == 30  # nothing changed
    form["ends_at"] = ""
    assert arena.browser.post(f"{page}/{development.id}", data=form).status_code == 200
    changed = _phase(arena, "Development")
    assert (changed.max_per_day, changed.max_total, changed.leaderboard_policy.value) == (
        5,
        50,
        "best",
    )
    assert changed.ends_at is None
    form["starts_at"] = "next tuesday"
    assert "is not a date" in arena.browser.post(f"{page}/{development.id}", data=form).text


def test_admin_routes_refuse_participants_and_anonymous(arena: Arena) -> None:
    ada, participant = arena.participant("ada@example.org")
    phase = _phase(arena, "Final")
    submission = arena.upload(participant, arena.zip("cifar10-weak")).json()["id"]
    api = "/api/v1/admin/competitions/mico"
    calls = [
        ("get", f"{api}/phases", None),
        ("post", f"{api}/phases/{phase.id}", {"max_per_day": 1}),
        ("post", f"{api}/phases/{phase.id}/open", None),
        ("post", f"{api}/phases/{phase.id}/close", None),
        ("post", f"{api}/reveal", None),
        ("post", f"{api}/hide", None),
        ("get", f"{api}/tracks/cifar10/truth", None),
        ("put", f"{api}/tracks/cifar10/truth", None),
        ("post", f"{api}/tracks/cifar10/truth", None),
        ("get", f"{api}/submissions", None),
        ("post", f"{api}/submissions/{submission}/rescore", None),
        ("post", f"{api}/submissions/{submission}/disqualify", {"reason": "cheating"}),
        ("get", f"{api}/tracks/cifar10/export", None),
        ("get", f"{api}/audit", None),
        ("get", f"{api}/participants", None),
        ("patch", f"{api}/participants/{ada.id}", {"status": "approved", "max_total": 9}),
        ("get", f"{api}/submissions/{submission}/zip", None),
        ("get", f"{api}/tracks/cifar10/representatives.zip?split=final", None),
        ("get", f"{api}/settings", None),
        ("patch", f"{api}/settings", {"title": "Owned"}),
        ("get", f"{api}/tracks", None),
        ("post", f"{api}/tracks", {"name": "evil", "scenarios": ["evil_a"]}),
        ("patch", f"{api}/tracks/ddp", {"title": "Owned"}),
        ("delete", f"{api}/tracks/ddp", None),
    ]
    for method, path, body in calls:
        assert arena.browser.request(method, path, json=body).status_code == 401, path
        answer = arena.browser.request(method, path, json=body, headers=participant)
        assert answer.status_code == 403, path
    upload = {"file": ("truth.zip", b"PK\x05\x06" + bytes(18), "application/zip")}
    truth_pages = [
        ("get", "/competitions/mico/admin/phases", None),
        ("get", "/competitions/mico/admin/tracks/cifar10/truth", None),
        ("post", "/competitions/mico/admin/tracks/cifar10/truth", upload),
    ]
    arena.browser.cookies.clear()
    for method, path, files in truth_pages:
        page = arena.browser.request(method, path, files=files, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), path
    _sign_in(arena, "ada@example.org")
    for method, path, files in truth_pages:
        assert arena.browser.request(method, path, files=files).status_code == 403, path
    pages = "/competitions/mico/admin"
    reads = [
        f"{pages}/phases",
        f"{pages}/submissions",
        f"{pages}/audit",
        f"{pages}/tracks/cifar10/export",
        f"{pages}/participants",
        f"{pages}/submissions/{submission}/zip",
        f"{pages}/tracks/cifar10/representatives.zip?split=final",
    ]
    arena.browser.cookies.clear()
    for path in reads:
        page = arena.browser.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), path
    _sign_in(arena, "ada@example.org")
    for path in reads:
        assert arena.browser.get(path).status_code == 403, path
    token = csrf(arena.browser, "/competitions/mico")
    changes = [
        f"{pages}/phases/{phase.id}/open",
        f"{pages}/submissions/{submission}/disqualify",
        f"{pages}/participants/{ada.id}/ban",
        f"{pages}/participants/{ada.id}/limits",
    ]
    for path in changes:
        answer = arena.browser.post(path, data={"csrf_token": token, "reason": "cheating"})
        assert answer.status_code == 403, path
    assert _phase(arena, "Final").starts_at is None  # nothing opened
    registration = arena.session.scalars(select(Registration)).one()
    arena.session.refresh(registration)
    assert registration.status.value == "approved" and registration.max_total is None
    assert arena.session.get_one(Submission, submission).disqualified is None
    admin = "/competitions/mico/admin"
    pages = ["phases", "settings", "tracks"]
    forms = [
        ("settings", {"title": "Owned"}),
        ("settings/preview", {"overview_md": "x"}),
        ("tracks", {"name": "evil", "scenarios": "evil_a"}),
        ("tracks/ddp", {"title": "Owned"}),
        ("tracks/ddp/remove", {}),
        ("tracks/ddp/scenarios", {"scenarios": "evil_b"}),
        ("tracks/ddp/scenarios/sst2_ddp", {"name": "evil_c"}),
        ("tracks/ddp/scenarios/sst2_ddp/remove", {}),
    ]
    arena.browser.cookies.clear()
    for name in pages:
        page = arena.browser.get(f"{admin}/{name}", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), name
    for name, form in forms:
        sent = arena.browser.post(f"{admin}/{name}", data=form, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"].startswith("/login"), name
    _sign_in(arena, "ada@example.org")
    for name in pages:
        assert arena.browser.get(f"{admin}/{name}").status_code == 403, name
    token = csrf(arena.browser, "/account")  # a valid form token: refused for who she is
    for name, form in forms:
        sent = arena.browser.post(f"{admin}/{name}", data={**form, "csrf_token": token})
        assert sent.status_code == 403 and "only organizers" in sent.text, name
    assert _phase(arena, "Final").starts_at is None  # nothing opened
    arena.session.expire_all()
    names = arena.session.scalars(select(Scenario.name)).all()
    assert len(names) == 6 and not any(n.startswith("evil") for n in names)
    tracks = arena.session.scalars(select(Track)).all()
    assert sorted(t.name for t in tracks) == ["cifar10", "ddp"]
    assert all(t.title != "Owned" for t in tracks)
    assert arena.session.scalars(select(Competition.title)).one() != "Owned"


def test_the_phase_api_for_organizers_scripts(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    api = "/api/v1/admin/competitions/mico/phases"
    phases = arena.browser.get(api, headers=organizer).json()
    assert [p["name"] for p in phases] == ["Development", "Final"]
    final = phases[1]["id"]
    changed = arena.browser.post(
        f"{api}/{phases[0]['id']}", json={"max_total": 7}, headers=organizer
    ).json()
    assert changed["max_total"] == 7 and changed["max_per_day"] == 30
    opened = arena.browser.post(f"{api}/{final}/open", headers=organizer).json()
    assert opened["starts_at"] is not None and opened["ends_at"] is None
    assert arena.browser.post(f"{api}/{final}/explode", headers=organizer).status_code == 422
    assert arena.browser.post(f"{api}/999999/open", headers=organizer).status_code == 404


API = "/api/v1/admin/competitions/mico/phases"
PAGE = "/competitions/mico/admin/phases"
BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"


def _phases_api(arena: Arena, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in arena.browser.get(API, headers=headers).json()}


def test_every_setting_of_the_phase_api_takes_effect_and_is_read_back(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    development = _phases_api(arena, organizer)["Development"]
    url = f"{API}/{development['id']}"
    change = {
        "starts_at": "2026-01-02T03:04:00",
        "ends_at": "2030-01-02T03:04:00Z",
        "accepts_uploads": False,
        "max_per_day": 3,
        "max_total": 9,
        "leaderboard_policy": "best",
        "allow_pinning": True,
        "ladder_eta": 0.05,
    }
    answer = arena.browser.post(url, json=change, headers=organizer)
    assert answer.status_code == 200, answer.text
    shown = _phases_api(arena, organizer)["Development"]
    assert shown["starts_at"].startswith("2026-01-02T03:04:00")  # no zone: UTC
    assert shown["ends_at"].startswith("2030-01-02T03:04:00")
    for key in ("accepts_uploads", "max_per_day", "max_total", "leaderboard_policy"):
        assert shown[key] == change[key], key
    assert shown["allow_pinning"] is True and shown["ladder_eta"] == 0.05

    # Left out stays as it is; the switches back off are read back too.
    off = {"exact_scores": True, "no_end": True, "allow_pinning": False}
    assert arena.browser.post(url, json=off, headers=organizer).status_code == 200
    shown = _phases_api(arena, organizer)["Development"]
    assert shown["ladder_eta"] is None and shown["ends_at"] is None
    assert shown["allow_pinning"] is False and shown["max_total"] == 9
    assert arena.browser.post(url, json={"ladder_eta": 0.1}, headers=organizer).status_code == 200
    assert arena.browser.post(url, json={"ladder_eta": None}, headers=organizer).status_code == 200
    assert _phases_api(arena, organizer)["Development"]["ladder_eta"] is None

    for wrong in (
        {"ladder_pace": 0.1},
        {"max_total": None},
        {"ladder_eta": 0.1, "exact_scores": True},
    ):
        refused = arena.browser.post(url, json=wrong, headers=organizer)
        assert refused.status_code == 422, wrong
    assert _phases_api(arena, organizer)["Development"]["max_total"] == 9


def _form(arena: Arena, **values: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf(arena.browser, PAGE),
        "starts_at": "2026-01-02 03:04",
        "ends_at": "",
        "max_per_day": "30",
        "max_total": "1000",
        "leaderboard_policy": "latest",
        "accepts_uploads": "true",
        "ladder_eta": "",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def test_every_setting_of_the_phase_form_takes_effect_and_the_page_shows_it(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    development = _phase(arena, "Development")
    form = _form(
        arena,
        starts_at="2026-01-02 03:04",
        ends_at="2030-01-02 03:04",
        max_per_day="4",
        max_total="40",
        leaderboard_policy="best",
        allow_pinning="true",
        ladder_eta="0.02",
    )
    del form["accepts_uploads"]  # an unticked box is not sent
    saved = arena.browser.post(f"{PAGE}/{development.id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    page = arena.browser.get(saved.headers["location"]).text
    assert "Development saved" in page and "Ladder step 0.02" in page  # the notice, once
    section = page[page.index(f'id="phase-{development.id}"') :]
    section = section[: section.index("</section>")]
    assert 'name="starts_at" placeholder="not started" value="2026-01-02 03:04"' in section
    assert 'name="ends_at" placeholder="no end" value="2030-01-02 03:04"' in section
    assert 'name="max_per_day" min="0" value="4"' in section
    assert 'name="max_total" min="0" value="40"' in section
    assert '<option value="best" selected>' in section
    assert 'name="ladder_eta" placeholder="exact scores" value="0.02"' in section
    assert re.search(r'name="accepts_uploads" value="true"\s*>', section)  # unticked
    assert re.search(r'name="allow_pinning" value="true"\s+checked', section)
    shown = _phases_api(arena, organizer)["Development"]
    assert (shown["accepts_uploads"], shown["allow_pinning"], shown["ladder_eta"]) == (
        False,
        True,
        0.02,
    )

    entries = len(arena.session.scalars(select(AuditEntry)).all())
    again = arena.browser.get(saved.headers["location"]).text
    assert "Development saved" not in again  # shown once
    assert len(arena.session.scalars(select(AuditEntry)).all()) == entries  # nothing redone

    # Emptied, the Ladder step is exact scores and the end date is none.
    form = _form(arena, ladder_eta="", ends_at="")
    assert arena.browser.post(f"{PAGE}/{development.id}", data=form).status_code == 200
    shown = _phases_api(arena, organizer)["Development"]
    assert shown["ladder_eta"] is None and shown["ends_at"] is None
    assert shown["allow_pinning"] is False  # unticked

    refused = arena.browser.post(f"{PAGE}/{development.id}", data=_form(arena, ladder_eta="big"))
    assert (
        refused.status_code == 422 and "Ladder step: &#39;big&#39; is not a number" in refused.text
    )
    assert _phases_api(arena, organizer)["Development"]["ladder_eta"] is None


def test_a_ladder_turned_on_in_the_page_is_what_participants_see(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    arena.upload(ada, arena.zip("cifar10-medium"))
    assert arena.score_sent() == ["scored"]
    exact = arena.browser.get(BOARD, headers=ada).json()["entries"][0]["ranking_score"]
    assert exact != round(exact, 1)  # a step of 0.1 shows a different number

    _sign_in(arena, "org@example.org")
    development = _phase(arena, "Development")
    form = _form(arena, ladder_eta="0.1", allow_pinning="true")
    assert arena.browser.post(f"{PAGE}/{development.id}", data=form).status_code == 200
    arena.browser.cookies.clear()

    shown = arena.browser.get(BOARD, headers=ada).json()["entries"][0]
    assert shown["ranking_score"] == round(round(exact / 0.1) * 0.1, 10)
    assert shown["scenarios"] == {}  # no per-scenario score gives the exact one away
    page = arena.browser.get("/competitions/mico/tracks/cifar10/leaderboard").text
    assert 'id="ladder"' in page
    organizers = arena.browser.get(BOARD, headers=organizer).json()["entries"][0]
    assert organizers["ranking_score"] == exact  # organizers keep the exact score
    submission = arena.browser.get(BOARD, headers=ada).json()["entries"][0]["submission_id"]
    pinned = arena.browser.post(f"/api/v1/submissions/{submission}/pin", headers=ada)
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True  # pinning is on


def _actions(page: str) -> dict[str, tuple[str, list[str]]]:
    """Each phase's state and the buttons offered, by phase name."""
    found = {}
    for card in re.findall(r'<section class="card" id="phase-\d+">(.*?)</section>', page, re.S):
        name, state = re.search(r'<h2>(\w+) <span class="badge \w+">(\w+)</span>', card).groups()  # type: ignore[union-attr]
        found[name] = (state, re.findall(r'<button type="submit" id="\w+-\d+"[^>]*>([^<]+)<', card))
    return found


def test_the_phases_page_marks_each_phase_and_offers_what_makes_sense_now(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    assert _actions(arena.browser.get(PAGE).text) == {
        "Development": ("running", ["Close now"]),
        "Final": ("scheduled", ["Open now"]),
    }
    final = _phases_api(arena, organizer)["Final"]["id"]
    assert arena.browser.post(f"{API}/{final}/open", headers=organizer).status_code == 200
    page = arena.browser.get(PAGE).text
    assert _actions(page) == {
        "Development": ("closed", ["Open again now"]),
        "Final": ("running", ["Close now"]),
    }
    assert "Ran from <time" in page and "Running since <time" in page


def test_opening_a_running_phase_or_closing_a_closed_one_is_refused(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    phases = _phases_api(arena, organizer)
    development, final = phases["Development"], phases["Final"]
    again = arena.browser.post(f"{API}/{development['id']}/open", headers=organizer)
    assert again.status_code == 409 and "running already" in again.json()["detail"]
    assert _phases_api(arena, organizer)["Development"]["starts_at"] == development["starts_at"]
    arena.browser.post(f"{API}/{final['id']}/open", headers=organizer)
    ended = _phases_api(arena, organizer)["Development"]["ends_at"]
    closed = arena.browser.post(f"{API}/{development['id']}/close", headers=organizer)
    assert closed.status_code == 409 and "closed already" in closed.json()["detail"]
    assert _phases_api(arena, organizer)["Development"]["ends_at"] == ended  # unchanged
