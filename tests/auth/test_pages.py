"""Accounts in the browser and API tokens, through the real app on PostgreSQL and SQLite."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.config import Settings
from app.main import create_app
from tests.fixtures.browser import PASSWORD, Sent, csrf, register
from tests.fixtures.database import rolled_back


def test_register_signs_in_with_a_safe_cookie(client: TestClient) -> None:
    """Registering signs in; the session cookie is HttpOnly and SameSite=Lax."""
    register(client)
    account = client.get("/account").text
    assert "ada@example.org" in account
    assert "<title>Your account · mia-arena</title>" in account  # no script in the title
    client.post("/logout", data={"csrf_token": csrf(client, "/account")})
    assert client.get("/account", follow_redirects=False).status_code == 303
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf(client, "/login"),
            "email": "ADA@example.org",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_a_form_without_its_token_changes_nothing(client: TestClient) -> None:
    """A cross-site POST (no CSRF token) is refused with 403 and no account is made."""
    answer = client.post(
        "/register", data={"email": "eve@example.org", "display_name": "eve", "password": PASSWORD}
    )
    assert answer.status_code == 403 and "did not come from this site" in answer.text
    login = client.post(
        "/login",
        data={
            "csrf_token": csrf(client, "/login"),
            "email": "eve@example.org",
            "password": PASSWORD,
        },
    )
    assert login.status_code == 422 and "wrong email or password" in login.text


def test_failed_logins_are_limited_per_account(client: TestClient) -> None:
    """After five wrong passwords even the right one waits, with a message saying so."""
    register(client)
    client.post("/logout", data={"csrf_token": csrf(client, "/account")})
    for _ in range(5):
        wrong = client.post(
            "/login",
            data={
                "csrf_token": csrf(client, "/login"),
                "email": "ada@example.org",
                "password": "nope" * 3,
            },
        )
        assert wrong.status_code == 422
    right = client.post(
        "/login",
        data={
            "csrf_token": csrf(client, "/login"),
            "email": "ada@example.org",
            "password": PASSWORD,
        },
    )
    assert right.status_code == 429 and "try again in 15 minutes" in right.text


def test_a_token_is_shown_once_works_and_can_be_revoked(client: TestClient) -> None:
    """Create on the account page, call the API with it, revoke it: then 401."""
    register(client)
    made = client.post(
        "/account/tokens", data={"csrf_token": csrf(client, "/account"), "name": "laptop"}
    )
    token = re.search(r'id="new-token">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    assert token not in client.get("/account").text  # shown once
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == "ada@example.org"
    revoke = re.search(r'action="(/account/tokens/\d+/revoke)"', client.get("/account").text)
    assert revoke
    client.post(revoke.group(1), data={"csrf_token": csrf(client, "/account")})
    gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401 and "not valid" in gone.json()["detail"]


def test_the_api_without_a_token_says_how_to_get_one(client: TestClient) -> None:
    """401 with WWW-Authenticate and the command that makes a token."""
    answer = client.get("/api/v1/me")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert "mia-arena tokens create" in answer.json()["detail"]


def test_signed_out_pages_redirect_to_sign_in(client: TestClient) -> None:
    """The account page sends a stranger to the login form."""
    answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_what_a_user_types_is_escaped(client: TestClient) -> None:
    """An email holding markup comes back escaped in the form, never as markup."""
    answer = client.post(
        "/register",
        data={
            "csrf_token": csrf(client, "/register"),
            "email": "<script>alert(1)</script>",
            "display_name": "x y",
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 422
    assert "<script>alert(1)</script>" not in answer.text and "&lt;script&gt;" in answer.text


def test_production_cookies_are_secure_only(sqlite: Engine) -> None:
    """Behind HTTPS in production the session cookie carries Secure."""
    with rolled_back(sqlite) as factory:
        app = create_app(Settings(environment="production", secret_key="s" * 40), factory, Sent())
        with TestClient(app, base_url="https://testserver") as browser:
            page = browser.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()


def test_signing_out_ends_every_copy_of_the_session(client: TestClient) -> None:
    """A cookie copied before signing out (or before a password change) no longer works."""
    register(client)
    stolen = dict(client.cookies)
    client.post("/logout", data={"csrf_token": csrf(client, "/account")})
    client.cookies.clear()
    client.cookies.update(stolen)
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_odd_input_is_a_4xx_never_a_500(client: TestClient) -> None:
    """A NUL character, an id out of range, a missing field: each answered with a reason."""
    register(client)
    nul = client.post(
        "/account/team", data={"csrf_token": csrf(client, "/account"), "name": "ow\x00ls"}
    )
    assert nul.status_code == 422 and "without control characters" in nul.text
    login = client.post(
        "/login",
        data={
            "csrf_token": csrf(client, "/login"),
            "email": "a\x00@example.org",
            "password": "x" * 12,
        },
    )
    assert login.status_code == 422  # PostgreSQL refuses the NUL: still a 422, not a 500
    huge = client.post(
        "/account/tokens/99999999999/revoke", data={"csrf_token": csrf(client, "/account")}
    )
    assert huge.status_code in (404, 422)
    missing = client.post("/account/password", data={"csrf_token": csrf(client, "/account")})
    assert missing.status_code == 422 and "the form is missing" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    unnamed = client.post("/account/tokens", data={"csrf_token": csrf(client, "/account")})
    assert unnamed.status_code == 200 and "Your new token “api”" in unnamed.text  # redirected
