"""After the reveal organizers turn MICO into a living benchmark: a newcomer registers (no
approval asked), uploads, is scored on final and ranks on the benchmark board marked as after
the competition, while the final leaderboard and the Results stay exactly as they were;
organizers set the labels' publication date and the verification levels, read back."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.competitions.registrations import competition_by_slug
from app.models.audit import AuditEntry
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf

ADMIN_API = "/api/v1/admin/competitions/mico/benchmark"
BOARD = "/api/v1/competitions/mico/benchmark?track=cifar10"
FINAL = "/api/v1/competitions/mico/tracks/cifar10/leaderboard?split=final"
RESULTS = "/api/v1/competitions/mico/results"


def _competition(arena: Arena) -> tuple[dict[str, str], int, int]:
    """ada (strong) and grace (weak) scored in the competition; the organizer's headers."""
    _, ada = arena.participant("ada@example.org")
    _, grace = arena.participant("grace@example.org")
    strong = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    weak = arena.upload(grace, arena.zip("cifar10-weak")).json()["id"]
    arena.score_sent()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    return organizer, strong, weak


def _reveal_and_announce(arena: Arena, organizer: dict[str, str], strong: int) -> None:
    revealed = arena.browser.post("/api/v1/admin/competitions/mico/reveal", headers=organizer)
    assert revealed.status_code == 200, revealed.text
    awards = {"awards": [{"title": "Winner", "submission_id": strong}]}
    put = "/api/v1/admin/competitions/mico/results/tracks/cifar10"
    assert arena.browser.put(put, headers=organizer, json=awards).status_code == 200


def _final(arena: Arena) -> tuple[object, object]:
    """The final leaderboard's rows and the Results' tracks, as anyone reads them."""
    board = arena.browser.get(FINAL).json()["entries"]
    results = arena.browser.get(RESULTS).json()["tracks"]
    return [(e["rank"], e["participant"], e["submission_id"]) for e in board], results


def _newcomer(arena: Arena) -> tuple[dict[str, str], int]:
    """linus registers after the benchmark opened (the competition now asks for approval)
    and uploads a medium attack, scored."""
    competition = competition_by_slug(arena.session, "mico")
    competition.requires_approval = True
    arena.session.commit()
    _, linus = arena.participant("linus@example.org")
    answer = arena.upload(linus, arena.zip("cifar10-medium"))
    assert answer.status_code in (200, 201, 202), answer.text
    assert arena.score_sent() == ["scored"]
    return linus, answer.json()["id"]


def test_turning_on_is_refused_before_the_reveal_to_participants_and_anonymous(
    arena: Arena,
) -> None:
    organizer, _, _ = _competition(arena)
    _, ada = arena.participant("ada2@example.org")
    assert arena.browser.post(ADMIN_API, json={}).status_code == 401
    assert arena.browser.post(ADMIN_API, headers=ada, json={}).status_code == 403
    early = arena.browser.post(ADMIN_API, headers=organizer, json={})
    assert early.status_code == 409
    assert "not revealed yet: reveal them first" in early.json()["detail"]
    assert arena.browser.get(ADMIN_API, headers=organizer).json()["benchmark"] is False
    assert arena.browser.get(BOARD).status_code == 404
    assert arena.browser.get("/competitions/mico/benchmark").status_code == 404


def test_a_newcomer_ranks_on_the_benchmark_marked_and_the_final_ranking_is_unchanged(
    arena: Arena,
) -> None:
    organizer, strong, weak = _competition(arena)
    _reveal_and_announce(arena, organizer, strong)
    before = _final(arena)
    opened = arena.browser.post(ADMIN_API, headers=organizer, json={"max_per_day": 5})
    assert opened.status_code == 200, opened.text
    assert opened.json()["benchmark"] is True and opened.json()["split"] == "final"
    again = arena.browser.post(ADMIN_API, headers=organizer, json={})
    assert again.status_code == 409 and "a benchmark already" in again.json()["detail"]
    _, medium = _newcomer(arena)
    board = arena.browser.get(BOARD).json()
    rows = {r["submission_id"]: r for r in board["rows"]}
    assert set(rows) == {strong, weak, medium}
    assert rows[medium]["after_competition"] is True
    assert rows[strong]["after_competition"] is False
    assert rows[medium]["participant"] == "linus"
    assert [r["submission_id"] for r in board["rows"]] == [strong, medium, weak]
    assert _final(arena) == before  # frozen: the benchmark upload is on neither
    page = arena.browser.get("/competitions/mico/benchmark?track=cifar10")
    assert page.status_code == 200
    row = re.search(rf'<tr id="bench-{medium}".*?</tr>', page.text, re.S)
    assert row is not None and "after the competition" in row.group(0)
    assert "self-reported" in row.group(0)
    tabs = re.search(r'<nav class="comp-tabs".*?</nav>', page.text, re.S)
    assert tabs is not None and "/benchmark" in tabs.group(0)
    actions = arena.session.scalars(select(AuditEntry.action)).all()
    assert "benchmark.open" in actions


def test_labels_date_and_verification_are_set_by_organizers_and_read_back(
    arena: Arena,
) -> None:
    organizer, strong, _ = _competition(arena)
    _reveal_and_announce(arena, organizer, strong)
    assert arena.browser.post(ADMIN_API, headers=organizer, json={}).status_code == 200
    linus, medium = _newcomer(arena)
    level = f"{ADMIN_API}/submissions/{medium}/verification"
    assert arena.browser.put(level, headers=linus, json={"level": "verified"}).status_code == 403
    bad = arena.browser.put(level, headers=organizer, json={"level": "trusted"})
    assert bad.status_code == 422
    set_ = arena.browser.put(level, headers=organizer, json={"level": "rerun"})
    assert set_.status_code == 200
    labels = f"{ADMIN_API}/labels-published"
    assert (
        arena.browser.put(
            labels, headers=organizer, json={"published_at": "2026-01-01T00:00:00Z"}
        ).status_code
        == 200
    )
    rows = {r["submission_id"]: r for r in arena.browser.get(BOARD).json()["rows"]}
    assert rows[medium]["verification"] == "rerun"
    assert rows[medium]["after_labels_published"] is True
    assert rows[strong]["after_labels_published"] is False
    assert (
        arena.browser.get(ADMIN_API, headers=organizer)
        .json()["labels_published_at"]
        .startswith("2026-01-01")
    )
    # The same through the organizers' page.
    token = csrf(arena.browser, "/login")
    arena.browser.post(
        "/login", data={"csrf_token": token, "email": "org@example.org", "password": PASSWORD}
    )
    page = "/competitions/mico/admin/benchmark"
    token = csrf(arena.browser, page)
    wrong = arena.browser.post(
        f"{page}/labels", data={"csrf_token": token, "published_on": "01/12/2026"}
    )
    assert wrong.status_code == 422 and "YYYY-MM-DD" in wrong.text
    arena.browser.post(f"{page}/labels", data={"csrf_token": token, "published_on": "2026-02-03"})
    arena.browser.post(
        f"{page}/verification",
        data={"csrf_token": token, "submission_id": str(medium), "level": "verified"},
    )
    shown = arena.browser.get(page).text
    assert 'value="2026-02-03"' in shown
    rows = {r["submission_id"]: r for r in arena.browser.get(BOARD).json()["rows"]}
    assert rows[medium]["verification"] == "verified"
    public = arena.browser.get("/competitions/mico/benchmark").text
    assert "after the labels were published" in public and "verified" in public


def test_the_organizers_page_before_the_reveal_says_to_reveal_first(arena: Arena) -> None:
    _competition(arena)
    token = csrf(arena.browser, "/login")
    arena.browser.post(
        "/login", data={"csrf_token": token, "email": "org@example.org", "password": PASSWORD}
    )
    page = arena.browser.get("/competitions/mico/admin/benchmark")
    assert page.status_code == 200 and 'id="reveal-first"' in page.text
    token = csrf(arena.browser, "/competitions/mico/admin/benchmark")
    refused = arena.browser.post(
        "/competitions/mico/admin/benchmark/open", data={"csrf_token": token}
    )
    assert refused.status_code == 409 and "not revealed yet: reveal them first" in refused.text


def test_hiding_the_final_results_again_hides_the_benchmark_board(arena: Arena) -> None:
    organizer, strong, _ = _competition(arena)
    _reveal_and_announce(arena, organizer, strong)
    assert arena.browser.post(ADMIN_API, headers=organizer, json={}).status_code == 200
    assert arena.browser.get(BOARD).status_code == 200
    hidden = arena.browser.post("/api/v1/admin/competitions/mico/hide", headers=organizer)
    assert hidden.status_code == 204
    assert arena.browser.get(BOARD).status_code == 404
    assert arena.browser.get("/competitions/mico/benchmark").status_code == 404
