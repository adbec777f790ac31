"""Organizers run the competitions they are listed for; admins run every one. Every admin route
of the app (found from its routes, so a new one cannot be forgotten) refuses anonymous callers,
participants and the organizers of another competition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import select, text

from app.auth import service as auth
from app.competitions import registrations
from app.competitions.service import import_mico
from app.core.db import make_engine, upgrade
from app.models.audit import AuditEntry
from app.models.organizer import CompetitionOrganizer
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf

# A value for each path parameter: ids that exist are not needed, the refusal comes first.
PARAMETERS = {"slug": "mico", "track": "cifar10"}


# Organizers' routes outside the /admin paths.
ORGANIZERS_ONLY = re.compile(r"/admin/|/registrations\b|^/competitions/\{slug\}/(reveal|hide)$")


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route of the app, through the routers it includes."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included routers
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _admin_routes(arena: Arena) -> list[tuple[str, str]]:
    """(method, path) of every organizers' route, parameters filled in."""
    found = []
    for route in _routes(arena.browser.app.routes):  # type: ignore[attr-defined]
        if ORGANIZERS_ONLY.search(route.path):
            path = re.sub(r"\{(\w+)\}", lambda m: PARAMETERS.get(m.group(1), "1"), route.path)
            found += [(method, path) for method in sorted(route.methods)]
    return found


def _sign_in(arena: Arena, email: str) -> None:
    arena.browser.cookies.clear()
    answer = arena.browser.post(
        "/login",
        data={"csrf_token": csrf(arena.browser, "/login"), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def _other_competition_organizer(arena: Arena) -> dict[str, str]:
    """An organizer listed for another competition only, and their API headers."""
    other = import_mico(arena.session, arena.demo / "truth", slug="other").competition
    user, headers = arena.participant("olga@example.org", register=False)
    user.role = Role.ORGANIZER
    registrations.add_organizer(arena.session, other, user)
    arena.session.commit()
    return headers


def test_every_admin_route_refuses_anyone_but_this_competitions_organizers(
    arena: Arena,
) -> None:
    _, participant = arena.participant("ada@example.org")
    stranger = _other_competition_organizer(arena)
    routes = _admin_routes(arena)
    api = [(m, p) for m, p in routes if p.startswith("/api/")]
    pages = [(m, p) for m, p in routes if not p.startswith("/api/")]
    assert len(api) >= 10 and len(pages) >= 5, routes  # the admin routes were found
    audited = len(arena.session.scalars(select(AuditEntry)).all())
    for method, path in api:
        assert arena.browser.request(method, path).status_code == 401, (method, path)
        for headers in (participant, stranger):
            answer = arena.browser.request(method, path, headers=headers)
            assert answer.status_code == 403, (method, path, answer.text)
    for method, path in pages:
        arena.browser.cookies.clear()
        answer = arena.browser.request(method, path, follow_redirects=False)
        assert answer.status_code in (303, 403), (method, path)
        if answer.status_code == 303:
            assert answer.headers["location"].startswith("/login"), path
    for email in ("ada@example.org", "olga@example.org"):
        _sign_in(arena, email)
        token = csrf(arena.browser, "/account")
        for method, path in pages:
            body = {"csrf_token": token} if method == "POST" else None
            answer = arena.browser.request(method, path, data=body, follow_redirects=False)
            assert answer.status_code == 403, (email, method, path, answer.text[:200])
    assert len(arena.session.scalars(select(AuditEntry)).all()) == audited  # nothing was done


def test_an_organizer_of_another_competition_sees_nothing_hidden(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    arena.upload(ada, arena.zip("cifar10-strong"))
    arena.score_sent()
    submission = arena.browser.get(
        "/api/v1/competitions/mico/tracks/cifar10/submissions", headers=ada
    ).json()["submissions"][0]["id"]
    stranger = _other_competition_organizer(arena)
    board = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"
    assert arena.browser.get(f"{board}?split=final", headers=stranger).status_code == 404
    assert arena.browser.get(f"{board}?split=dev", headers=stranger).status_code == 200
    own = f"/api/v1/submissions/{submission}"
    assert arena.browser.get(own, headers=stranger).status_code == 404
    # Listed for MICO, the same account sees the hidden split and the submission.
    olga = auth.user_by_email(arena.session, "olga@example.org")
    mico = registrations.competition_by_slug(arena.session, "mico")
    registrations.add_organizer(arena.session, mico, olga)
    arena.session.commit()
    assert arena.browser.get(f"{board}?split=final", headers=stranger).status_code == 200
    assert arena.browser.get(own, headers=stranger).status_code == 200


def test_admins_organize_every_competition_unlisted(arena: Arena) -> None:
    _, admin = arena.participant("root@example.org", role=Role.ADMIN, register=False)
    phases = arena.browser.get("/api/v1/admin/competitions/mico/phases", headers=admin)
    assert phases.status_code == 200 and {p["name"] for p in phases.json()} >= {"Final"}
    listed = arena.session.scalars(select(CompetitionOrganizer.user_id)).all()
    assert listed == []


def test_the_competition_page_offers_organizer_links_to_its_organizers_only(
    arena: Arena,
) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _other_competition_organizer(arena)
    _sign_in(arena, "org@example.org")
    assert 'href="/competitions/mico/admin"' in arena.browser.get("/competitions/mico").text
    assert "/competitions/mico/admin/phases" in arena.browser.get("/competitions/mico/admin").text
    _sign_in(arena, "olga@example.org")
    assert "/competitions/mico/admin" not in arena.browser.get("/competitions/mico").text
    assert arena.browser.get("/competitions/mico/admin").status_code == 403
    assert "/competitions/other/admin/phases" in arena.browser.get("/competitions/other/admin").text


def test_upgrading_lists_existing_organizers_for_existing_competitions(
    new_postgres_database: object, demo: object
) -> None:
    """Before revision 0008 the organizer role ran every competition: the upgrade keeps that
    for the competitions and organizers already there, and lists nobody else."""
    engine = make_engine(new_postgres_database())  # type: ignore[operator]
    with engine.begin() as connection:
        upgrade(connection, "0007")
        for slug in ("mico", "other"):
            connection.execute(
                text(
                    "INSERT INTO competitions (slug, title, overview_md, data_md, evaluation_md,"
                    " terms_md, requires_approval, points_per_model, created_at) VALUES"
                    " (:slug, :slug, '', '', '', '', false, 200, now())"
                ),
                {"slug": slug},
            )
        for email, role in (("org@example.org", "organizer"), ("ada@example.org", "participant")):
            connection.execute(
                text(
                    "INSERT INTO users (email, display_name, password_hash, role, is_active,"
                    " session_epoch, created_at) VALUES (:e, :e, 'x', :r, true, 0, now())"
                ),
                {"e": email, "r": role},
            )
        upgrade(connection)
        listed = connection.execute(
            text(
                "SELECT c.slug, u.email FROM competition_organizers o"
                " JOIN competitions c ON c.id = o.competition_id JOIN users u ON u.id = o.user_id"
                " ORDER BY c.slug"
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in listed] == [
        ("mico", "org@example.org"),
        ("other", "org@example.org"),
    ]
