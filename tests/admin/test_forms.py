"""Every admin form ends one way: a success answers 303 to a page that says once what
happened (a reload repeats nothing), a refusal shows the page again with the reason and stores
nothing, and what cannot be undone asks first (data-confirm). Each setting a form offers is
read back through the API."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from app.models.audit import AuditEntry
from app.models.user import Role
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import csrf

ADMIN = "/competitions/mico/admin"
API = "/api/v1/admin/competitions/mico"


def _audited(arena: Arena) -> int:
    arena.session.expire_all()
    return arena.session.scalar(select(func.count(AuditEntry.id))) or 0


def _organizer(arena: Arena) -> dict[str, str]:
    _, headers = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    return headers


def _done(arena: Arena, url: str, data: dict[str, str], notice: str) -> str:
    """Post a form: a 303 whose page says `notice` once; reloading it changes nothing."""
    answer = arena.browser.post(url, data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = arena.browser.get(answer.headers["location"]).text
    assert notice in html.unescape(page), page
    entries = _audited(arena)
    again = arena.browser.get(answer.headers["location"]).text
    assert notice not in html.unescape(again)
    assert _audited(arena) == entries
    return page


def _confirm(page: str, action: str) -> str:
    """The question of the form posting to `action`."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>', page)
    assert form, f"no form posts to {action}"
    question = re.search(r'data-confirm="([^"]+)"', form.group(0))
    assert question, f"the form to {action} does not ask first"
    return html.unescape(question.group(1))


def test_a_ban_asks_first_says_what_happened_and_is_read_back(arena: Arena) -> None:
    ada, _ = arena.participant("ada@example.org")
    organizer = _organizer(arena)
    page = arena.browser.get(f"{ADMIN}/participants").text
    ban = f"{ADMIN}/participants/{ada.id}/ban"
    assert _confirm(page, ban).startswith("Ban ada? Their submissions leave every leaderboard")
    token = csrf(arena.browser, f"{ADMIN}/participants")
    _done(arena, ban, {"csrf_token": token}, "ada is banned")
    listed = arena.browser.get(f"{API}/participants", headers=organizer).json()
    assert [p["status"] for p in listed if p["user_id"] == ada.id] == ["banned"]
    _done(arena, f"{ADMIN}/participants/{ada.id}/unban", {"csrf_token": token}, "ada is unbanned")


def test_a_refused_participant_action_shows_the_reason_and_stores_nothing(arena: Arena) -> None:
    ada, _ = arena.participant("ada@example.org")
    _organizer(arena)
    token = csrf(arena.browser, f"{ADMIN}/participants")
    entries = _audited(arena)
    refused = arena.browser.post(f"{ADMIN}/participants/{ada.id}/unban", data={"csrf_token": token})
    assert refused.status_code == 422 and "this participant is not banned" in refused.text
    assert 'id="user-' in refused.text  # the page again, not a bare error
    assert _audited(arena) == entries


def test_own_limits_set_in_the_page_are_read_back_from_the_api(arena: Arena) -> None:
    ada, _ = arena.participant("ada@example.org")
    organizer = _organizer(arena)
    url = f"{ADMIN}/participants/{ada.id}/limits"
    token = csrf(arena.browser, f"{ADMIN}/participants")
    _done(arena, url, {"csrf_token": token, "max_per_day": "3", "max_total": ""}, "limits saved")
    (shown,) = [
        p
        for p in arena.browser.get(f"{API}/participants", headers=organizer).json()
        if p["user_id"] == ada.id
    ]
    assert (shown["max_per_day"], shown["max_total"]) == (3, None)


def test_a_disqualification_asks_first_and_says_what_happened(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-weak")).json()["id"]
    arena.score_sent()
    organizer = _organizer(arena)
    page = arena.browser.get(f"{ADMIN}/submissions").text
    url = f"{ADMIN}/submissions/{submission}/disqualify"
    assert _confirm(page, url).startswith(f"Disqualify submission {submission} of ada?")
    token = csrf(arena.browser, f"{ADMIN}/submissions")
    _done(arena, url, {"csrf_token": token, "reason": "copied"}, "left every leaderboard")
    (row,) = arena.browser.get(f"{API}/submissions", headers=organizer).json()
    assert row["disqualified"] == "copied"
    refused = arena.browser.post(url, data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 422 and "3 to 500 characters" in refused.text
    assert (
        arena.browser.get(f"{API}/submissions", headers=organizer).json()[0]["disqualified"]
        == "copied"
    )


def test_removing_a_track_asks_first_and_its_title_is_read_back(arena: Arena) -> None:
    organizer = _organizer(arena)
    token = csrf(arena.browser, f"{ADMIN}/tracks")
    new = {"csrf_token": token, "name": "img", "title": "", "scenarios": "img_a img_b"}
    _done(arena, f"{ADMIN}/tracks", new, "Track img added.")
    _done(arena, f"{ADMIN}/tracks/img", {"csrf_token": token, "title": "Images"}, "titled")
    tracks = {t["name"]: t for t in arena.browser.get(f"{API}/tracks", headers=organizer).json()}
    assert tracks["img"]["title"] == "Images"
    page = arena.browser.get(f"{ADMIN}/tracks").text
    assert _confirm(page, f"{ADMIN}/tracks/img/remove").startswith("Remove track img")
    assert _confirm(page, f"{ADMIN}/tracks/img/scenarios/img_a/remove").startswith(
        "Remove scenario img_a"
    )
    _done(arena, f"{ADMIN}/tracks/img/remove", {"csrf_token": token}, "Track img and its")
    assert "img" not in {
        t["name"] for t in arena.browser.get(f"{API}/tracks", headers=organizer).json()
    }


def test_a_refused_new_track_leaves_no_trace_on_the_page_shown_again(arena: Arena) -> None:
    _organizer(arena)
    token = csrf(arena.browser, f"{ADMIN}/tracks")
    # The track is written before its scenarios; the taken scenario name refuses it all.
    form = {"csrf_token": token, "name": "img", "title": "", "scenarios": "cifar10_ddp"}
    refused = arena.browser.post(f"{ADMIN}/tracks", data=form)
    assert refused.status_code == 422 and "taken already" in refused.text
    assert 'id="track-img"' not in refused.text


def test_settings_saved_in_the_page_say_so_once_and_are_read_back(arena: Arena) -> None:
    organizer = _organizer(arena)
    settings = arena.browser.get(f"{API}/settings", headers=organizer).json()
    form = {
        "csrf_token": csrf(arena.browser, f"{ADMIN}/settings"),
        "title": "MICO 2027",
        "requires_approval": "true",
        "points_per_model": str(settings["points_per_model"]),
        **{k: settings[k] for k in ("overview_md", "data_md", "evaluation_md", "terms_md")},
    }
    _done(arena, f"{ADMIN}/settings", form, "Saved: approval, title.")
    shown = arena.browser.get(f"{API}/settings", headers=organizer).json()
    assert (shown["title"], shown["requires_approval"]) == ("MICO 2027", True)
    _done(arena, f"{ADMIN}/settings", form, "Nothing had changed.")
