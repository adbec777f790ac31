"""The account's forms end the one way: a success redirects (303) to a page that says once
what happened, so a reload repeats nothing; a refusal stores nothing; what cannot be undone
asks first."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.core.config import Settings
from app.core.errors import Conflict, Invalid
from app.main import create_app
from app.models.login_attempt import LoginAttempt
from app.models.team import Team
from app.models.token import ApiToken
from app.models.user import Role
from app.teams import service as teams
from tests.fixtures.browser import PASSWORD, Sent, csrf, register
from tests.fixtures.database import backend_engine, rolled_back

NOTICE = re.compile(r'<p class="notice flash" role="status">([^<]*)</p>')


@dataclass
class Site:
    browser: TestClient
    factory: Callable[[], Session]

    def count(self, model: type[object]) -> int:
        """How many rows of `model` are stored, read in a session of the test's own."""
        with self.factory() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def post(self, path: str, page: str = "/account", **data: str) -> httpx.Response:
        """Send a form from `page`, as a browser would, without following the redirect."""
        form = {"csrf_token": csrf(self.browser, page), **data}
        return self.browser.post(path, data=form, follow_redirects=False)

    def followed(self, answer: httpx.Response) -> str:
        """The page a successful form redirects to (it must redirect, with 303)."""
        assert answer.status_code == 303, answer.text
        return self.browser.get(answer.headers["location"]).text


@pytest.fixture(params=["postgresql", "sqlite"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    with rolled_back(backend_engine(request)) as factory:
        app = create_app(Settings(), factory, Sent())
        with TestClient(app, base_url="https://testserver") as browser:
            yield Site(browser, factory)


def notices(page: str) -> list[str]:
    return NOTICE.findall(page)


def test_signing_up_in_and_out_redirect_and_say_so(site: Site) -> None:
    """Register, sign out, sign in: each answers 303 and the next page says what happened."""
    form = {"email": "ada@example.org", "display_name": "ada", "password": PASSWORD}
    made = site.post("/register", "/register", **form)
    assert made.headers["location"] == "/account"
    assert notices(site.followed(made)) == ["Account created: you are signed in as ada"]
    out = site.post("/logout")
    assert notices(site.followed(out)) == ["Signed out"]
    signed_in = site.post("/login", "/login", email="ada@example.org", password=PASSWORD)
    assert notices(site.followed(signed_in)) == ["Signed in as ada"]
    assert notices(site.browser.get("/account").text) == []  # said once


def test_a_new_token_is_shown_once_after_the_redirect_and_a_reload_makes_none(
    site: Site,
) -> None:
    """Create token: 303; the account page then shows the token once; reloading it shows no
    token and makes no second one."""
    register(site.browser)
    made = site.post("/account/tokens", name="laptop")
    assert made.headers["location"] == "/account" and site.count(ApiToken) == 1
    page = site.followed(made)
    token = re.search(r'id="new-token">([^<]+)<', page)
    assert token and notices(page) == ["Token “laptop” created"]
    again = site.browser.get("/account").text
    assert token.group(1) not in again and 'id="new-token"' not in again and notices(again) == []
    assert site.count(ApiToken) == 1
    me = site.browser.get("/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert me.status_code == 200


def test_a_password_change_redirects_and_a_reload_changes_nothing(site: Site) -> None:
    """The change answers 303 with a notice; the old password no longer signs in."""
    register(site.browser)
    changed = site.post("/account/password", current=PASSWORD, new="a new long password")
    assert notices(site.followed(changed)) == [
        "Password changed: every other browser signed in to this account is signed out"
    ]
    assert site.browser.get("/account").status_code == 200  # this browser stays signed in
    wrong = site.post("/account/password", current=PASSWORD, new="yet another password")
    assert wrong.status_code == 422 and "the current password is wrong" in wrong.text


def test_revoking_a_token_asks_first_and_says_what_it_did(site: Site) -> None:
    """The revoke form asks a specific question first; revoking answers 303 and says so."""
    register(site.browser)
    site.followed(site.post("/account/tokens", name="laptop"))
    page = site.browser.get("/account").text
    form = re.search(r'action="(/account/tokens/\d+/revoke)"\s+data-confirm="([^"]+)"', page)
    assert form and form.group(2) == (
        "Revoke the token “laptop”? Scripts that send it are refused at once; "
        "this cannot be undone."
    )
    revoked = site.post(form.group(1))
    assert notices(site.followed(revoked)) == [
        "Token “laptop” revoked: scripts that send it are refused from now on"
    ]
    assert "revoked</span>" in site.browser.get("/account").text


def test_team_forms_redirect_and_leaving_asks_first(site: Site) -> None:
    """Create, join and leave: 303 each, with a notice; the leave form says what leaving does."""
    register(site.browser, "ada@example.org", "ada")
    created = site.post("/account/team", name="Owls")
    assert created.headers["location"] == "/account#team"
    page = site.followed(created)
    assert notices(page) == ["Team “Owls” created: give teammates its invite code"]
    assert 'data-confirm="Leave the team “Owls”? You are its last member: the team and its ' in page
    code = re.search(r'id="invite-code">([^<]+)<', page)
    assert code and site.count(Team) == 1
    site.browser.get("/account")
    assert site.count(Team) == 1  # a reload makes no second team

    site.post("/logout")
    register(site.browser, "bo@example.org", "bo")
    joined = site.followed(site.post("/account/team/join", invite_code=code.group(1)))
    assert notices(joined) == ["You joined the team “Owls”"]
    assert 'data-confirm="Leave the team “Owls”? To come back you need its invite code."' in joined
    left = site.followed(site.post("/account/team/leave"))
    assert notices(left) == ["You left the team “Owls”"] and site.count(Team) == 1

    site.post("/logout")
    site.followed(site.post("/login", "/login", email="ada@example.org", password=PASSWORD))
    last = site.followed(site.post("/account/team/leave"))
    assert notices(last) == ["You left the team “Owls”: you were its last member, so it is removed"]
    assert site.count(Team) == 0
    refused = site.post("/account/team/leave")
    assert refused.status_code == 422 and "you are not in a team" in refused.text


def test_a_refused_form_stores_nothing_its_handler_had_flushed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal that comes after a flush (here a check that fails once the team is made)
    shows the error, and the flushed team is not stored, nor shown."""
    create = teams.create_team

    def refused_late(session: Session, user: object, name: str) -> Team:
        create(session, user, name)  # type: ignore[arg-type]
        raise Conflict("a check after the flush refuses it")

    monkeypatch.setattr(teams, "create_team", refused_late)
    register(site.browser)
    answer = site.post("/account/team", name="Owls")
    assert answer.status_code == 409 and "a check after the flush refuses it" in answer.text
    assert "You take part on your own" in answer.text
    assert site.count(Team) == 0


@pytest.fixture(params=["postgresql", "sqlite"])
def factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], Session]]:
    with rolled_back(backend_engine(request)) as made:
        yield made


def test_a_failed_sign_in_is_recorded_before_argon2_and_kept_when_the_request_rolls_back(
    factory: Callable[[], Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt is committed in a session of its own before the password is checked (a
    parallel guess counts it), and stays when the request's session is rolled back; a success
    removes it."""
    with factory() as session:
        auth.create_user(session, "ada@example.org", PASSWORD, role=Role.PARTICIPANT)
        session.commit()
    seen_while_checking: list[int] = []
    check = auth.verify_password

    def counting(hashed: str, password: str) -> bool:
        with factory() as other:  # another request's session, meanwhile
            seen_while_checking.append(other.scalar(select(func.count(LoginAttempt.id))) or 0)
        return check(hashed, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    request = factory()
    with pytest.raises(Invalid, match="wrong email or password"):
        auth.authenticate(request, "ada@example.org", "wrong" * 3, "192.0.2.1", factory)
    request.rollback()  # what a refused form does
    request.close()
    with factory() as session:
        assert session.scalar(select(func.count(LoginAttempt.id))) == 1
        assert auth.authenticate(session, "ada@example.org", PASSWORD, "192.0.2.1", factory)
        session.commit()
    assert seen_while_checking == [1, 2]
    with factory() as session:
        assert session.scalar(select(func.count(LoginAttempt.id))) == 1  # the success is gone
