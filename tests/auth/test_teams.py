"""Teams from the account page: create, invite by code, join, leave."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.fixtures.browser import PASSWORD, csrf, register


def _post(browser: TestClient, path: str, **data: str) -> str:
    answer = browser.post(path, data={"csrf_token": csrf(browser, "/account"), **data})
    return answer.text


def _switch(browser: TestClient, email: str) -> None:
    browser.post("/logout", data={"csrf_token": csrf(browser, "/account")})
    browser.post(
        "/login", data={"csrf_token": csrf(browser, "/login"), "email": email, "password": PASSWORD}
    )


def test_create_invite_join_and_leave(client: TestClient) -> None:
    """Ada makes a team, Bo joins by its code and leaves; the last to leave removes it."""
    register(client, "ada@example.org", "ada")
    page = _post(client, "/account/team", name="Owls")
    code = re.search(r'id="invite-code">([^<]+)<', page)
    assert code and "You are in <strong>Owls</strong> with ada." in page
    assert "already in a team; leave it first" in _post(client, "/account/team", name="Larks")
    client.post("/logout", data={"csrf_token": csrf(client, "/account")})

    register(client, "bo@example.org", "bo")
    assert "no team has this invite code" in _post(client, "/account/team/join", invite_code="nope")
    assert "with ada, bo." in _post(client, "/account/team/join", invite_code=code.group(1))
    assert "You take part on your own" in _post(client, "/account/team/leave")
    assert "the team name &#39;owls&#39; is taken" in _post(client, "/account/team", name="owls")

    _switch(client, "ada@example.org")
    assert "You take part on your own" in _post(client, "/account/team/leave")
    _switch(client, "bo@example.org")
    assert "You are in <strong>owls</strong>" in _post(client, "/account/team", name="owls")
