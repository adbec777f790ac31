"""Before the reveal, no page and no endpoint a participant or an anonymous visitor can reach
shows anything of the final split: every GET route of the app is asked (found from its routes,
so a new one cannot be forgotten), with and without `?split=final` and the live-refresh
variants, and no final score appears in any answer. After the reveal they do."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlalchemy import select

from app.models.ranking import Ranking
from app.models.score import Score
from app.models.user import Role
from tests.competitions.test_organizers import ORGANIZERS_ONLY, _routes, _sign_in
from tests.fixtures.arena import Arena

VARIANTS = [
    {},
    {"split": "final"},
    {"split": "final", "format": "csv"},
    {"split": "final", "rows_only": "true"},
    {"panel_only": "true"},
    {"rows_only": "true"},
]
# Signs out; a static page; Prometheus's text, full of times of its own that a score's digits
# can match by chance (tests/ops/test_metrics.py proves it has no family that carries a score).
NOT_ASKED = {"/logout", "/docs/oauth2-redirect", "/metrics"}
OWN_ZIP = re.compile(r"/(zip|download)$")  # the participant's own upload, byte for byte


def _numbers(session: object, split: str) -> tuple[set[str], set[str]]:
    """A split's scores as JSON writes them (full precision) and as pages show them (%.4f)."""
    values: list[float] = [
        *session.scalars(select(Ranking.ranking_score).where(Ranking.split == split)),  # type: ignore[attr-defined]
    ]
    for metrics in session.scalars(select(Score.metrics).where(Score.split == split)):  # type: ignore[attr-defined]
        values += [v for v in metrics.values() if isinstance(v, float)]
    return {repr(v) for v in values}, {f"{v:.4f}" for v in values}


def _final_only(arena: Arena) -> tuple[set[str], set[str]]:
    """Final scores written as no dev score is (those alone can tell a leak)."""
    final_json, final_page = _numbers(arena.session, "final")
    dev_json, dev_page = _numbers(arena.session, "dev")
    return final_json - dev_json, {
        v for v in final_page - dev_page if v not in ("0.0000", "1.0000")
    }


def _shows(number: str, text: str) -> bool:
    """`number` stands in `text` as a number of its own: a final 0.95 is not leaked by a
    time's seconds, 30.950412, nor by 0.9512 (a chance match of that kind once failed this
    test on a submission's API answer)."""
    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", text) is not None


def _answers(arena: Arena, submission: int, headers: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(url, text) of every GET route a participant could ask for, in every variant."""
    fill = {
        "slug": "mico",
        "track": "cifar10",
        "submission_id": str(submission),
        "token": "not-a-token",  # /reset/{token}, /confirm/{token}: a dead link page
    }
    for route in _routes(arena.browser.app.routes):  # type: ignore[attr-defined]
        if "GET" not in route.methods or ORGANIZERS_ONLY.search(route.path):
            continue
        if route.path in NOT_ASKED:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: fill[m.group(1)], route.path)
        for params in VARIANTS:
            answer = arena.browser.get(path, params=params, headers=headers)
            assert answer.status_code < 500, (path, params)
            if not OWN_ZIP.search(path):
                yield f"{path}?{params}", answer.text


def test_nothing_of_final_reaches_participants_before_the_reveal_and_all_of_it_after(
    arena: Arena,
) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    ids = []
    for headers, attack in ((ada, "strong"), (bob, "weak")):
        ids.append(arena.upload(headers, arena.zip(f"cifar10-{attack}")).json()["id"])
    assert arena.score_sent() == ["scored", "scored"]
    secret_json, secret_page = _final_only(arena)
    assert len(secret_json) > 20 and len(secret_page) > 10  # enough to tell a leak

    asked = 0
    for who in ("anonymous", "ada by token", "ada signed in"):
        arena.browser.cookies.clear()
        headers = ada if who == "ada by token" else {}
        if who == "ada signed in":
            _sign_in(arena, "ada@example.org")
        for url, text in _answers(arena, ids[0], headers):
            asked += 1
            leaked = [v for v in secret_json | secret_page if _shows(v, text)]
            assert not leaked, (who, url, leaked[:3])
    assert asked > 100

    # The organizer sees final; after the reveal, everyone does, on the leaderboard and on
    # each submission's own page and API.
    final = "/api/v1/competitions/mico/tracks/cifar10/leaderboard?split=final"
    assert any(v in arena.browser.get(final, headers=organizer).text for v in secret_json)
    assert (
        arena.browser.post("/api/v1/admin/competitions/mico/reveal", headers=organizer).status_code
        == 200
    )
    arena.browser.cookies.clear()
    assert any(v in arena.browser.get(final).text for v in secret_json)
    page = arena.browser.get("/competitions/mico/tracks/cifar10/leaderboard?split=final").text
    assert any(v in page for v in secret_page)
    shown = arena.browser.get(f"/api/v1/submissions/{ids[0]}", headers=ada).json()
    assert set(shown["scores"]) == {"dev", "final"}
    _sign_in(arena, "ada@example.org")
    own_page = arena.browser.get(f"/submissions/{ids[0]}").text
    assert any(v in own_page for v in secret_page)
