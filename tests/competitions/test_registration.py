"""Registering to a competition in the browser and by API; organizers approve; pages are safe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from unittest.mock import ANY

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import registrations
from app.core.config import Settings
from app.main import create_app
from app.models.competition import Competition
from app.models.registration import Registration, RegistrationStatus
from app.models.user import Role, User
from tests.fixtures.browser import PASSWORD, Sent, csrf, register
from tests.fixtures.database import backend_engine, rolled_back

HOSTILE = (
    "# Rules\n\n<script>alert('x')</script>\n\n"
    "<img src=x onerror=alert(1)> [go](javascript:alert(2))"
)


@pytest.fixture(params=["postgresql", "sqlite"])
def site(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, Session]]:
    """A browser on the app and a session on the same rolled-back database, with a competition."""
    with rolled_back(backend_engine(request)) as factory:
        session = factory()
        session.add(
            Competition(
                slug="mico",
                title="MICO",
                overview_md=HOSTILE,
                terms_md="Play **fair**.",
                requires_approval=False,
            )
        )
        session.commit()
        app = create_app(Settings(), factory, Sent())
        with TestClient(app, base_url="https://testserver") as browser:
            yield browser, session
        session.close()


def _token(session: Session, email: str, role: Role = Role.PARTICIPANT) -> str:
    """An API token for a new account; an organizer is listed as one of MICO's."""
    return auth.create_token(session, _user(session, email, role))[1]


def _user(session: Session, email: str, role: Role = Role.PARTICIPANT) -> User:
    user = auth.create_user(session, email, PASSWORD, role=role)
    if role is Role.ORGANIZER:
        registrations.add_organizer(session, session.query(Competition).one(), user)
    session.commit()
    return user


def test_a_participant_registers_by_accepting_the_terms(site: tuple[TestClient, Session]) -> None:
    """Unticked terms: refused with the reason; ticked: registered and told so."""
    browser, _ = site
    register(browser)
    page = browser.get("/competitions/mico")
    assert "Play <strong>fair</strong>." in page.text
    refused = browser.post(
        "/competitions/mico/register", data={"csrf_token": csrf(browser, "/competitions/mico")}
    )
    assert refused.status_code == 422 and "accept the competition&#39;s terms" in refused.text
    done = browser.post(
        "/competitions/mico/register",
        data={"csrf_token": csrf(browser, "/competitions/mico"), "accept_terms": "true"},
    )
    assert done.status_code == 200 and "You are registered" in done.text


def test_registering_redirects_with_a_notice_and_a_reload_registers_nothing(
    site: tuple[TestClient, Session],
) -> None:
    """The terms form answers 303; the page then says so once; a reload changes nothing; a
    refused form (terms unticked) stores nothing."""
    browser, session = site
    register(browser)
    form = {"csrf_token": csrf(browser, "/competitions/mico")}
    refused = browser.post("/competitions/mico/register", data=form)
    assert refused.status_code == 422 and session.query(Registration).count() == 0
    made = browser.post(
        "/competitions/mico/register",
        data={**form, "accept_terms": "true"},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/competitions/mico"
    page = browser.get("/competitions/mico").text
    assert '<p class="notice flash" role="status">Registered: you may submit now</p>' in page
    again = browser.get("/competitions/mico").text
    assert "Registered: you may submit now" not in again and "You are registered" in again
    assert session.query(Registration).count() == 1


def test_organizer_markdown_never_runs_script(site: tuple[TestClient, Session]) -> None:
    """Script, event handlers and javascript: links in a page come out inert."""
    browser, _ = site
    page = browser.get("/competitions/mico").text
    assert "<h1>Rules</h1>" in page
    assert "<script>alert" not in page and "onerror=alert(1)>" not in page
    assert 'href="javascript:' not in page


def test_registration_by_api(site: tuple[TestClient, Session]) -> None:
    """201 with the status; again 200; unaccepted terms 422; no token 401; unknown slug 404."""
    browser, session = site
    headers = {"Authorization": f"Bearer {_token(session, 'bo@example.org')}"}
    url = "/api/v1/competitions/mico/registration"
    refused = browser.post(url, json={"accept_terms": False}, headers=headers)
    assert refused.status_code == 422 and "accept" in refused.json()["detail"]
    made = browser.post(url, json={"accept_terms": True}, headers=headers)
    assert made.status_code == 201
    assert made.json() == {"competition": "mico", "status": "approved", "terms_sha256": ANY}
    assert browser.post(url, json={"accept_terms": True}, headers=headers).status_code == 200
    assert browser.post(url, json={"accept_terms": True}).status_code == 401
    missing = browser.post(
        "/api/v1/competitions/nope/registration", json={"accept_terms": True}, headers=headers
    )
    assert missing.status_code == 404 and "no competition 'nope'" in missing.json()["detail"]


def test_approval_and_bans(site: tuple[TestClient, Session]) -> None:
    """With approval required: pending until an organizer approves; a banned user is refused."""
    browser, session = site
    competition = session.query(Competition).one()
    competition.requires_approval = True
    session.commit()
    participant = {"Authorization": f"Bearer {_token(session, 'bo@example.org')}"}
    url = "/api/v1/competitions/mico/registration"
    assert (
        browser.post(url, json={"accept_terms": True}, headers=participant).json()["status"]
        == "pending"
    )
    _user(session, "org@example.org", Role.ORGANIZER)
    browser.post(
        "/login",
        data={
            "csrf_token": csrf(browser, "/login"),
            "email": "org@example.org",
            "password": PASSWORD,
        },
    )
    page = browser.get("/competitions/mico").text
    approve = re.search(r'action="(/competitions/mico/registrations/\d+/approved)"', page)
    assert approve and "bo@example.org" in page
    decided = browser.post(
        approve.group(1),
        data={"csrf_token": csrf(browser, "/competitions/mico")},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    after = browser.get(decided.headers["location"]).text
    assert "The registration of bo is approved now" in after and "bo@example.org" not in after
    assert (
        browser.post(url, json={"accept_terms": True}, headers=participant).json()["status"]
        == "approved"
    )
    banned = approve.group(1).replace("approved", "banned")
    browser.post(banned, data={"csrf_token": csrf(browser, "/competitions/mico")})
    refused = browser.post(url, json={"accept_terms": True}, headers=participant)
    assert refused.status_code == 403 and "banned" in refused.json()["detail"]


def test_only_organizers_decide(site: tuple[TestClient, Session]) -> None:
    """A participant posting a decision on a pending registration gets 403; it stays pending."""
    browser, session = site
    session.query(Competition).one().requires_approval = True
    session.commit()
    register(browser)
    pending = browser.post(
        "/competitions/mico/register",
        data={"csrf_token": csrf(browser, "/competitions/mico"), "accept_terms": "true"},
    )
    assert "an organizer approves your registration before you can submit" in pending.text
    registration = session.query(Registration).one()
    answer = browser.post(
        f"/competitions/mico/registrations/{registration.id}/approved",
        data={"csrf_token": csrf(browser, "/competitions/mico")},
    )
    assert answer.status_code == 403 and "only organizers" in answer.text
    session.expire_all()
    assert session.query(Registration).one().status is RegistrationStatus.PENDING


def test_organizers_decide_by_api_and_participants_get_403(
    site: tuple[TestClient, Session],
) -> None:
    """The API applies the browser's role check: 403 for a participant, 200 for an organizer."""
    browser, session = site
    competition = session.query(Competition).one()
    competition.requires_approval = True
    session.commit()
    participant = {"Authorization": f"Bearer {_token(session, 'bo@example.org')}"}
    organizer = {"Authorization": f"Bearer {_token(session, 'org@example.org', Role.ORGANIZER)}"}
    browser.post(
        "/api/v1/competitions/mico/registration", json={"accept_terms": True}, headers=participant
    )
    listing = "/api/v1/competitions/mico/registrations"
    assert browser.get(listing, headers=participant).status_code == 403
    waiting = browser.get(listing, headers=organizer).json()
    assert [(w["email"], w["status"]) for w in waiting] == [("bo@example.org", "pending")]
    decide = f"{listing}/{waiting[0]['id']}"
    refused = browser.post(decide, json={"status": "approved"}, headers=participant)
    assert refused.status_code == 403 and "only organizers" in refused.json()["detail"]
    done = browser.post(decide, json={"status": "approved"}, headers=organizer)
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert browser.get(listing, headers=organizer).json() == []


def test_the_home_page_lists_competitions(site: tuple[TestClient, Session]) -> None:
    """/ links to every competition, its overview rendered safely."""
    browser, _ = site
    page = browser.get("/")
    assert page.status_code == 200 and 'href="/competitions/mico">MICO</a>' in page.text
    assert "<script>alert" not in page.text
