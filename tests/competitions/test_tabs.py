"""The competition's pages as tabs, the phases in view, the terms accepted by version, and
the home page's list."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from app.models.base import utcnow
from app.models.competition import Competition
from app.models.user import Role
from tests.admin.test_phases import _sign_in
from tests.admin.test_queries import _statements
from tests.fixtures.arena import Arena

PAGE = "/competitions/mico"
ADMIN_API = "/api/v1/admin/competitions/mico"
REGISTER_API = "/api/v1/competitions/mico/registration"
TABS = {
    "": "Overview",
    "/data": "Data",
    "/evaluation": "Evaluation",
    "/terms": "Terms",
    "/leaderboard": "Leaderboard",
    "/submit": "Submit",
    "/my-submissions": "My submissions",
}


def _phase_id(arena: Arena, organizer: dict[str, str], name: str) -> int:
    phases = arena.browser.get(f"{ADMIN_API}/phases", headers=organizer).json()
    return next(p["id"] for p in phases if p["name"] == name)


def test_each_tab_is_a_page_of_its_own_with_the_organizers_text(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    pages = {
        "data_md": "Each model has **200** challenge points.",
        "evaluation_md": "Mean *TPR* at 10% FPR.",
        "terms_md": "No use of the *hidden* labels.",
    }
    assert arena.browser.patch(f"{ADMIN_API}/settings", json=pages, headers=organizer).is_success
    for path, title in TABS.items():
        answer = arena.browser.get(PAGE + path)
        assert answer.status_code == 200, path
        current = re.findall(r'<a href="([^"]+)" aria-current="page">([^<]+)</a>', answer.text)
        assert current == [(PAGE + path, title)]
        assert 'href="/competitions/mico/admin"' not in answer.text  # organizers only
    data = arena.browser.get(f"{PAGE}/data").text
    assert "<strong>200</strong>" in data and "<em>TPR</em>" not in data
    assert "<em>TPR</em>" in arena.browser.get(f"{PAGE}/evaluation").text
    assert "<em>hidden</em>" in arena.browser.get(f"{PAGE}/terms").text
    assert "<strong>200</strong>" not in arena.browser.get(PAGE).text
    links = arena.browser.get(f"{PAGE}/leaderboard").text
    assert f'href="{PAGE}/tracks/cifar10/leaderboard"' in links
    assert "Register first" in arena.browser.get(f"{PAGE}/submit").text
    assert arena.browser.get(f"{PAGE}/nonsense").status_code == 404


def test_a_participant_finds_submit_and_own_submissions_per_track(arena: Arena) -> None:
    arena.participant("ada@example.org")
    _sign_in(arena, "ada@example.org")
    assert f'href="{PAGE}/tracks/cifar10/submit"' in arena.browser.get(f"{PAGE}/submit").text
    mine = arena.browser.get(f"{PAGE}/my-submissions").text
    assert f'href="{PAGE}/tracks/cifar10/submissions"' in mine


def test_organizers_get_an_admin_tab_with_every_admin_page(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    assert 'href="/competitions/mico/admin">Admin</a>' in arena.browser.get(PAGE).text
    admin = arena.browser.get(f"{PAGE}/admin").text
    for area in ("settings", "tracks", "phases", "participants", "submissions", "audit"):
        assert f'href="{PAGE}/admin/{area}"' in admin
    assert 'aria-current="page">Admin</a>' in admin
    arena.browser.cookies.clear()
    assert arena.browser.get(f"{PAGE}/admin", follow_redirects=False).status_code in (303, 401)


def test_the_terms_accepted_are_recorded_by_version(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _, bob = arena.participant("bob@example.org", register=False)
    _, carol = arena.participant("carol@example.org", register=False)
    first = "Play fair."
    arena.browser.patch(f"{ADMIN_API}/settings", json={"terms_md": first}, headers=organizer)
    old = arena.browser.post(REGISTER_API, json={"accept_terms": True}, headers=bob).json()
    assert old["terms_sha256"] == hashlib.sha256(first.encode()).hexdigest()

    second = "Play fair. One account per person."
    changed = arena.browser.patch(
        f"{ADMIN_API}/settings", json={"terms_md": second}, headers=organizer
    )
    assert changed.json()["changed"] == ["terms_md"]
    stale = arena.browser.post(
        REGISTER_API,
        json={"accept_terms": True, "terms_sha256": old["terms_sha256"]},
        headers=carol,
    )
    assert stale.status_code == 409 and "changed while you read them" in stale.json()["detail"]
    new = arena.browser.post(REGISTER_API, json={"accept_terms": True}, headers=carol).json()
    assert new["terms_sha256"] == hashlib.sha256(second.encode()).hexdigest()
    again = arena.browser.post(REGISTER_API, json={"accept_terms": True}, headers=bob)
    assert again.status_code == 200 and again.json()["terms_sha256"] == old["terms_sha256"]


def test_the_registration_form_carries_the_terms_it_shows(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    arena.participant("bob@example.org", register=False)
    terms = "No use of the *hidden* labels."
    arena.browser.patch(f"{ADMIN_API}/settings", json={"terms_md": terms}, headers=organizer)
    _sign_in(arena, "bob@example.org")
    form = arena.browser.get(PAGE).text
    version = hashlib.sha256(terms.encode()).hexdigest()
    assert "<em>hidden</em>" in form and f'name="terms_sha256" value="{version}"' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    arena.browser.patch(
        f"{ADMIN_API}/settings", json={"terms_md": "Something else."}, headers=organizer
    )
    late = arena.browser.post(
        f"{PAGE}/register",
        data={"csrf_token": token.group(1), "accept_terms": "true", "terms_sha256": version},
    )
    assert late.status_code == 409 and "changed while you read them" in late.text
    assert "Something else." in late.text  # the new terms, to read and accept


def test_the_page_shows_the_phase_its_end_and_every_phase(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    development = _phase_id(arena, organizer, "Development")
    ends = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    arena.browser.post(
        f"{ADMIN_API}/phases/{development}", json={"ends_at": ends.isoformat()}, headers=organizer
    )
    page = arena.browser.get(PAGE).text
    now_line = re.search(r'id="phase-now">(.*?)</p>', page, re.S)
    assert now_line and "<strong>Development</strong> is running" in now_line.group(1)
    shown = f"{ends:%Y-%m-%d %H:%M} UTC"
    assert f'<time datetime="{ends.isoformat()}" data-local>{shown}</time>' in now_line.group(1)
    assert f'data-countdown="{ends.isoformat()}"' in now_line.group(1)
    timeline = re.findall(r'<span class="badge (\w+)">\w+</span></span>\s*<strong>(\w+)', page)
    assert timeline == [("running", "Development"), ("scheduled", "Final")]

    final = _phase_id(arena, organizer, "Final")
    arena.browser.post(f"{ADMIN_API}/phases/{final}/open", headers=organizer)
    page = arena.browser.get(f"{PAGE}/data").text  # on every tab
    assert "<strong>Final</strong> is running; uploads are closed" in page
    timeline = re.findall(
        r'<span class="badge (\w+)">\w+</span></span>\s*<strong>(\w+)', arena.browser.get(PAGE).text
    )
    assert timeline == [("closed", "Development"), ("running", "Final")]


def test_the_home_page_lists_phase_deadline_and_numbers_in_fixed_queries(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _, ada = arena.participant("ada@example.org")
    arena.participant("bob@example.org")
    assert arena.upload(ada, arena.zip("cifar10-strong")).status_code == 202
    home = arena.browser.get("/").text
    card = re.search(r'id="competition-mico">(.*?)</section>', home, re.S)
    assert card and "<strong>Development</strong> is running" in card.group(1)
    assert "<dt>Participants</dt><dd>2</dd>" in card.group(1)
    assert "<dt>Entries</dt><dd>1</dd>" in card.group(1)

    counts = []
    for size in (1, 4):
        for n in range(size - len(counts)):
            arena.session.add(Competition(slug=f"extra{size}{n}", title=f"Extra {size} {n}"))
        arena.session.commit()
        arena.browser.get("/")
        counts.append(_statements(arena, lambda: arena.browser.get("/")))
    assert counts[0] == counts[1], counts
    assert "No phase is scheduled yet." in arena.browser.get("/").text
