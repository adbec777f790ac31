"""The participants' lists run as many statements for 20 rows as for 1: no query per row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf

LIST = "/api/v1/competitions/mico/tracks/cifar10/submissions"
MINE = "/competitions/mico/tracks/cifar10/submissions"
BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"
SIZES = (1, 5, 20)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """The statements the engine runs inside the block."""
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements(arena: Arena, read: Callable[[], object]) -> int:
    """How many statements one read of a page or an answer runs."""
    with counted(arena.session.get_bind().engine) as seen:
        read()
    return len(seen)


def _ok(answer: object) -> object:
    assert getattr(answer, "status_code", None) == 200, getattr(answer, "text", answer)
    return answer


def test_own_submissions_take_the_same_statements_for_1_5_and_20_rows(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    form = {"csrf_token": csrf(arena.browser, "/login"), "email": "ada@example.org"}
    login = arena.browser.post("/login", data={**form, "password": PASSWORD})
    assert login.status_code == 200 and "/logout" in login.text, login.text
    reads = {
        "API list": lambda: _ok(arena.browser.get(LIST, params={"limit": 50}, headers=ada)),
        "my submissions page": lambda: _ok(arena.browser.get(MINE)),
        "its rows": lambda: _ok(arena.browser.get(MINE, params={"rows_only": "true"})),
    }
    counts: dict[str, list[int]] = {name: [] for name in reads}
    uploaded = 0
    for size in SIZES:
        while uploaded < size:
            attack = ("weak", "strong", "random")[uploaded % 3]
            assert arena.upload(ada, arena.zip(f"cifar10-{attack}")).status_code == 202
            uploaded += 1
        arena.score_sent()
        for name, read in reads.items():
            counts[name].append(statements(arena, read))
    assert all(len(set(c)) == 1 for c in counts.values()), counts


def test_the_leaderboard_takes_the_same_statements_for_1_5_and_20_rows(arena: Arena) -> None:
    counts = []
    joined = 0
    for size in SIZES:
        while joined < size:
            _, headers = arena.participant(f"p{joined}@example.org")
            attack = ("weak", "strong", "random")[joined % 3]
            assert arena.upload(headers, arena.zip(f"cifar10-{attack}")).status_code == 202
            joined += 1
        arena.score_sent()
        assert len(arena.browser.get(BOARD).json()["entries"]) == size
        counts.append(statements(arena, lambda: _ok(arena.browser.get(BOARD))))
    assert len(set(counts)) == 1, counts
