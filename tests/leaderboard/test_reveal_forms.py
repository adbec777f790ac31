"""The organizers' reveal and hide forms on the leaderboard page: each asks first, answers
303 to a page that says what happened, and a reload repeats nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.models.reveal import Reveal
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf

BOARD = "/competitions/mico/tracks/cifar10/leaderboard?split=final"
NOTICE = re.compile(r'<p class="notice flash" role="status">([^<]*)</p>')


def _organizer(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    signed_in = arena.browser.post(
        "/login",
        data={
            "csrf_token": csrf(arena.browser, "/login"),
            "email": "org@example.org",
            "password": PASSWORD,
        },
    )
    assert signed_in.status_code == 200


def _confirm(page: str, action: str) -> str | None:
    """The question the form posting to `action` asks first, if it asks one."""
    form = re.search(rf'<form method="post" action="{action}"\s+data-confirm="([^"]+)"', page)
    return form.group(1) if form else None


def _reveals(arena: Arena) -> int:
    return arena.session.scalar(select(func.count(Reveal.id))) or 0


def test_reveal_asks_first_says_what_it_showed_and_a_reload_reveals_nothing_more(
    arena: Arena,
) -> None:
    _organizer(arena)
    board = arena.browser.get(BOARD).text
    assert _confirm(board, "/competitions/mico/reveal") == (
        "Reveal the final leaderboard of every track? Participants will see final scores at once."
    )
    revealed = arena.browser.post(
        "/competitions/mico/reveal",
        data={"csrf_token": csrf(arena.browser, BOARD)},
        follow_redirects=False,
    )
    assert revealed.status_code == 303
    assert revealed.headers["location"] == "/competitions/mico#tracks"
    page = arena.browser.get(revealed.headers["location"]).text
    assert NOTICE.findall(page) == [
        "Final results revealed: 2 tracks; the final leaderboard is shown to everyone now"
    ]
    assert _reveals(arena) == 2  # cifar10's and ddp's final rankings, kept as revealed
    again = arena.browser.get("/competitions/mico").text
    assert NOTICE.findall(again) == [] and _reveals(arena) == 2
    arena.browser.cookies.clear()
    assert 'id="not-yet"' not in arena.browser.get(BOARD).text  # everyone sees final


def test_hide_asks_first_and_says_the_final_results_are_hidden_again(arena: Arena) -> None:
    _organizer(arena)
    assert _confirm(arena.browser.get(BOARD).text, "/competitions/mico/hide") is None
    arena.browser.post("/competitions/mico/reveal", data={"csrf_token": csrf(arena.browser, BOARD)})
    board = arena.browser.get(BOARD).text
    assert _confirm(board, "/competitions/mico/reveal") is None  # nothing left to reveal
    assert _confirm(board, "/competitions/mico/hide") == (
        "Hide the revealed leaderboards of every track again? "
        "Participants stop seeing final scores at once."
    )
    hidden = arena.browser.post(
        "/competitions/mico/hide",
        data={"csrf_token": csrf(arena.browser, BOARD)},
        follow_redirects=False,
    )
    assert hidden.status_code == 303
    assert NOTICE.findall(arena.browser.get(hidden.headers["location"]).text) == [
        "Final results hidden again: only organizers see them until the next reveal"
    ]
    assert _confirm(arena.browser.get(BOARD).text, "/competitions/mico/reveal")
    arena.browser.cookies.clear()
    assert 'id="not-yet"' in arena.browser.get(BOARD).text
