"""The organizers announce the results after the reveal: per track the awards, each naming an
entry of the final leaderboard with its method and links; the public Results page and API show
them, and nothing of the final split before; the audit log and the export keep them."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from app.models.audit import AuditEntry
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf

ADMIN = "/competitions/mico/admin/results"
API = "/api/v1/admin/competitions/mico/results/tracks/cifar10"
RESULTS = "/competitions/mico/results"
LINKS = {
    "method_name": "LiRA, 16 shadow models",
    "writeup_url": "https://arxiv.org/abs/2112.03570",
    "code_url": "https://github.com/example/lira",
}


def _sign_in(arena: Arena, email: str) -> None:
    token = csrf(arena.browser, "/login")
    arena.browser.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})


def _entries(arena: Arena) -> tuple[dict[str, str], int, int]:
    """ada (strong, with her method and links) and grace (weak), scored; the organizer's API
    headers, ada's and grace's submissions."""
    _, ada = arena.participant("ada@example.org")
    _, grace = arena.participant("grace@example.org")
    strong = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    weak = arena.upload(grace, arena.zip("cifar10-weak")).json()["id"]
    arena.score_sent()
    described = arena.browser.patch(f"/api/v1/submissions/{strong}", headers=ada, json=LINKS)
    assert described.status_code == 200
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    return organizer, strong, weak


def _reveal(arena: Arena, organizer: dict[str, str]) -> None:
    answer = arena.browser.post("/api/v1/admin/competitions/mico/reveal", headers=organizer)
    assert answer.status_code == 200, answer.text


def _awards(strong: int, weak: int) -> dict[str, list[dict[str, object]]]:
    return {
        "awards": [
            {"title": "Winner", "submission_id": strong},
            {"title": "Runner-up", "submission_id": weak},
            {"title": "Honourable mention", "submission_id": None},
        ]
    }


def test_awards_are_refused_before_the_reveal_and_nothing_final_is_shown(arena: Arena) -> None:
    organizer, strong, weak = _entries(arena)
    refused = arena.browser.put(API, headers=organizer, json=_awards(strong, weak))
    assert refused.status_code == 409
    assert "not revealed yet: reveal them first" in refused.json()["detail"]
    page = arena.browser.get(RESULTS)
    assert page.status_code == 404
    assert 'id="not-announced"' in page.text and "LiRA" not in page.text
    assert arena.browser.get("/api/v1/competitions/mico/results").status_code == 404
    tabs = re.findall(
        r'<nav class="comp-tabs".*?</nav>', arena.browser.get("/competitions/mico").text, re.S
    )
    assert "/results" not in tabs[0]


def test_after_the_reveal_the_awards_show_with_links_in_the_audit_log_and_export(
    arena: Arena,
) -> None:
    organizer, strong, weak = _entries(arena)
    _reveal(arena, organizer)
    published = arena.browser.put(API, headers=organizer, json=_awards(strong, weak))
    assert published.status_code == 200, published.text
    awards = published.json()["awards"]
    assert [(a["title"], a["entry"] and a["entry"]["participant"]) for a in awards] == [
        ("Winner", "ada"),
        ("Runner-up", "grace"),
        ("Honourable mention", None),
    ]
    assert awards[0]["entry"]["writeup_url"] == LINKS["writeup_url"]

    public = arena.browser.get("/api/v1/competitions/mico/results").json()
    cifar10 = next(t for t in public["tracks"] if t["track"] == "cifar10")
    assert cifar10["split"] == "final" and [e["participant"] for e in cifar10["entries"]] == [
        "ada",
        "grace",
    ]
    page = arena.browser.get(RESULTS)
    assert page.status_code == 200
    section = page.text[page.text.index('id="results-cifar10"') :]
    assert re.search(r"Winner</strong>:\s*<span class=\"participant\">ada</span>", section)
    assert f'<a class="writeup" href="{LINKS["writeup_url"]}" rel="nofollow noopener">' in section
    assert 'class="muted not-awarded">not awarded' in section
    assert 'href="/competitions/mico/results" aria-current="page">Results</a>' in page.text

    actions = arena.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "results.publish")
    )
    (entry,) = list(actions)
    assert entry.detail["awards"] == [
        f"Winner: ada (#1), submission {strong}",
        f"Runner-up: grace (#2), submission {weak}",
        "Honourable mention: not awarded",
    ]
    _sign_in(arena, "org@example.org")
    log = arena.browser.get("/competitions/mico/admin/audit").text
    assert f"Winner: ada (#1), submission {strong}" in log
    assert f'href="/competitions/mico/admin/submissions/{strong}"' in log
    export = arena.browser.get(
        "/api/v1/admin/competitions/mico/tracks/cifar10/export?format=csv", headers=organizer
    )
    rows = [r for r in csv.DictReader(io.StringIO(export.text)) if r["split"] == "final"]
    assert [(r["participant"], r["award"], r["writeup_url"]) for r in rows] == [
        ("ada", "Winner", LINKS["writeup_url"]),
        ("grace", "Runner-up", ""),
    ]


def test_an_entry_not_on_the_final_leaderboard_is_refused_and_changes_are_audited(
    arena: Arena,
) -> None:
    organizer, strong, weak = _entries(arena)
    _reveal(arena, organizer)
    wrong = arena.browser.put(
        API, headers=organizer, json={"awards": [{"title": "Winner", "submission_id": 999999}]}
    )
    assert wrong.status_code == 422
    assert "submission 999999 is not on the final cifar10 leaderboard" in wrong.json()["detail"]
    twice = {"awards": [{"title": "Winner", "submission_id": strong}] * 2}
    assert arena.browser.put(API, headers=organizer, json=twice).status_code == 422
    assert arena.browser.get(RESULTS).status_code == 404  # nothing was announced
    arena.browser.put(API, headers=organizer, json=_awards(strong, weak))
    changed = {"awards": [{"title": "Winner", "submission_id": weak}]}
    assert arena.browser.put(API, headers=organizer, json=changed).status_code == 200
    last = arena.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "results.publish").order_by(AuditEntry.id)
    ).all()[-1]
    assert last.detail["before"] == [
        f"Winner: ada (#1), submission {strong}",
        f"Runner-up: grace (#2), submission {weak}",
        "Honourable mention: not awarded",
    ]
    assert last.detail["awards"] == [f"Winner: grace (#2), submission {weak}"]


def test_participants_may_not_publish_and_anonymous_visitors_must_sign_in(arena: Arena) -> None:
    organizer, strong, weak = _entries(arena)
    _reveal(arena, organizer)
    _, participant = arena.participant("eve@example.org")
    body = _awards(strong, weak)
    assert arena.browser.put(API, headers=participant, json=body).status_code == 403
    assert arena.browser.put(API, json=body).status_code == 401
    _sign_in(arena, "eve@example.org")
    assert arena.browser.get(ADMIN).status_code == 403
    assert arena.browser.get(RESULTS).status_code == 404


def test_the_organizers_page_announces_the_awards_after_the_reveal(arena: Arena) -> None:
    organizer, strong, weak = _entries(arena)
    _sign_in(arena, "org@example.org")
    before = arena.browser.get(ADMIN).text
    assert 'id="reveal-first"' in before and 'class="awards-form"' not in before
    _reveal(arena, organizer)
    form = {
        "csrf_token": csrf(arena.browser, ADMIN),
        "title": ["Winner", "Runner-up", "Honourable mention", "", ""],
        "entry": [str(strong), "none", "", "", ""],
    }
    posted = arena.browser.post(f"{ADMIN}/cifar10", data=form, follow_redirects=False)
    assert posted.status_code == 303
    shown = arena.browser.get(posted.headers["location"]).text
    assert "Awards of cifar10 announced: they are on the Results page." in shown
    page = arena.browser.get(RESULTS).text
    assert re.search(r"Runner-up</strong>:\s*<span class=\"muted not-awarded\">", page)
    assert "Honourable mention" not in page  # its entry left empty: left out
    form["entry"] = ["12345678901234567", "", "", "", ""]
    form["title"] = ["Winner", "", "", "", ""]
    refused = arena.browser.post(f"{ADMIN}/cifar10", data=form)
    assert refused.status_code == 422 and 'id="results-error"' in refused.text


def test_hiding_the_final_results_again_hides_the_results_page(arena: Arena) -> None:
    organizer, strong, weak = _entries(arena)
    _reveal(arena, organizer)
    arena.browser.put(API, headers=organizer, json=_awards(strong, weak))
    assert 'href="/competitions/mico/results"' in arena.browser.get("/competitions/mico").text
    hidden = arena.browser.post("/api/v1/admin/competitions/mico/hide", headers=organizer)
    assert hidden.status_code == 204
    page = arena.browser.get(RESULTS)
    assert page.status_code == 404 and "ada" not in page.text.split('id="not-announced"')[1]
    assert 'href="/competitions/mico/results"' not in arena.browser.get("/competitions/mico").text
