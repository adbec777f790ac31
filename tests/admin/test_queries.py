"""The organizers' lists (participants, submissions, the audit log) read the database a fixed
number of times however many rows they show: no query per row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select

from app.competitions import audit
from app.models.competition import Competition
from app.models.user import Role
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena

ADMIN = "/competitions/mico/admin"
API = "/api/v1/admin/competitions/mico"
SIZES = (1, 5, 20)


def _statements(arena: Arena, read: Callable[[], Any]) -> int:
    """How many SQL statements `read` runs."""
    engine = arena.session.get_bind().engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = read()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200, answer.text
    return len(seen)


def _counts(
    arena: Arena, add: Callable[[int], None], urls: list[tuple[str, dict[str, str]]]
) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {url: [] for url, _ in urls}
    made = 0
    for size in SIZES:
        add(size - made)
        made = size
        for url, headers in urls:
            arena.browser.get(url, headers=headers)  # once first: what a first request caches
            seen = _statements(arena, lambda u=url, h=headers: arena.browser.get(u, headers=h))
            counts[url].append(seen)
    return counts


def test_the_participants_list_reads_the_same_whatever_its_length(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    made: list[int] = []

    def add(n: int) -> None:
        for _ in range(n):
            made.append(len(made))
            _, headers = arena.participant(f"p{len(made)}@example.org")
            arena.upload(headers, arena.zip("cifar10-weak"))

    counts = _counts(
        arena, add, [(f"{API}/participants", organizer), (f"{ADMIN}/participants", {})]
    )
    for url, seen in counts.items():
        assert len(set(seen)) == 1, f"{url}: {seen} statements for {SIZES} rows"


def test_the_submissions_list_reads_the_same_whatever_its_length(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _, ada = arena.participant("ada@example.org")
    _sign_in(arena, "org@example.org")

    def add(n: int) -> None:
        for _ in range(n):
            arena.upload(ada, arena.zip("cifar10-weak"))
        arena.score_sent()
        arena.sent.clear()

    counts = _counts(arena, add, [(f"{API}/submissions", organizer), (f"{ADMIN}/submissions", {})])
    for url, seen in counts.items():
        assert len(set(seen)) == 1, f"{url}: {seen} statements for {SIZES} rows"


def test_the_audit_log_reads_the_same_whatever_its_length(arena: Arena) -> None:
    organizer_user, organizer = arena.participant(
        "org@example.org", role=Role.ORGANIZER, register=False
    )
    _sign_in(arena, "org@example.org")
    competition = arena.session.scalars(select(Competition)).first()
    assert competition is not None

    def add(n: int) -> None:
        for i in range(n):
            audit.record(arena.session, competition, organizer_user, "phase.change", {"i": i})
        arena.session.commit()

    counts = _counts(arena, add, [(f"{API}/audit", organizer), (f"{ADMIN}/audit", {})])
    for url, seen in counts.items():
        assert len(set(seen)) == 1, f"{url}: {seen} statements for {SIZES} rows"


def test_every_page_of_the_long_lists_reads_the_same(arena: Arena) -> None:
    from tests.admin.test_submission_page import _seed

    _seed(arena, 130)
    organizer_user, _ = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    for i in range(110):
        arena.participant(f"p{i}@example.org")
    competition = arena.session.scalars(select(Competition)).one()
    for i in range(110):
        audit.record(arena.session, competition, organizer_user, "phase.change", {"i": i})
    arena.session.commit()
    _sign_in(arena, "org@example.org")
    for path in ("submissions", "participants", "audit"):
        url = f"{ADMIN}/{path}"
        arena.browser.get(url)  # once first: what a first request caches
        seen = [
            _statements(arena, lambda n=n, u=url: arena.browser.get(u, params={"page": n}))
            for n in (1, 2, 3)
        ]
        assert len(set(seen)) == 1, f"{path}: {seen} statements for pages 1, 2 and 3"
