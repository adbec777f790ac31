"""Forgotten passwords, through the pages and a real SMTP server: the mail, the link, the new
password; a used, expired or forged link refused with a way to get a new one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.browser import PASSWORD, csrf, register
from tests.fixtures.smtp import Inbox
from tests.mail.conftest import Site, make_site

NEW_PASSWORD = "a brand new secret"


def _sign_out(browser: TestClient) -> None:
    browser.post("/logout", data={"csrf_token": csrf(browser, "/account")})


def _login(browser: TestClient, password: str) -> int:
    answer = browser.post(
        "/login",
        data={
            "csrf_token": csrf(browser, "/login"),
            "email": "ada@example.org",
            "password": password,
        },
        follow_redirects=False,
    )
    return answer.status_code


def _forgot(browser: TestClient, email: str) -> str:
    """Ask for a reset link; the page shown after."""
    page = browser.get("/login")
    assert 'href="/forgot"' in page.text and "Forgot your password?" in page.text
    answer = browser.post("/forgot", data={"csrf_token": csrf(browser, "/forgot"), "email": email})
    assert answer.status_code == 200 and answer.url.path == "/login"
    return answer.text


def test_a_forgotten_password_is_reset_through_the_mailed_link(site: Site) -> None:
    """The link in the mail sets a new password and signs in; the old password and the link
    stop working, and every other browser is signed out."""
    browser = site.browser
    register(browser)
    other = TestClient(browser.app, base_url="https://testserver")
    assert _login(other, PASSWORD) == 303  # another browser, signed in before the reset
    _sign_out(browser)

    page = _forgot(browser, "Ada@Example.org")
    assert "a link to choose a new password is on its way" in page
    assert site.send_mail() == 1
    [mail] = site.inbox.to("ada@example.org")
    assert mail["Subject"] == "Set a new password for mia-arena"
    assert mail["From"] == "arena <arena@example.org>"
    link = site.inbox.link(mail)
    assert link.startswith("/reset/") and "works once, for an hour" in mail.get_content()

    form = browser.get(link)
    assert form.status_code == 200 and "ada@example.org" in form.text
    answer = browser.post(link, data={"csrf_token": csrf(browser, link), "new": NEW_PASSWORD})
    assert answer.url.path == "/account" and "Password set: you are signed in" in answer.text
    assert other.get("/account", follow_redirects=False).status_code == 303  # signed out

    _sign_out(browser)
    assert _login(browser, PASSWORD) == 422
    assert _login(browser, NEW_PASSWORD) == 303
    again = browser.get(link)
    assert again.status_code == 410 and "this link was used already" in again.text
    assert 'href="/forgot"' in again.text
    reuse = browser.post(link, data={"csrf_token": csrf(browser, "/login"), "new": PASSWORD})
    assert reuse.status_code == 410
    _sign_out(browser)
    assert _login(browser, PASSWORD) == 422


def test_the_answer_is_the_same_whether_the_account_exists(site: Site) -> None:
    """No account enumeration: the same page for a known and an unknown address; no mail to
    the unknown one."""
    register(site.browser)
    _sign_out(site.browser)
    known = _forgot(site.browser, "ada@example.org")
    unknown = _forgot(site.browser, "nobody@example.org")
    assert known.replace("ada@", "X@") == unknown.replace("nobody@", "X@")
    site.send_mail()
    assert [m["To"] for m in site.inbox.mails] == ["ada@example.org"]


def test_reset_mails_are_limited_per_account(site: Site) -> None:
    """A fifth request in an hour is answered the same, but no more mails go out than three."""
    register(site.browser)
    _sign_out(site.browser)
    for _ in range(5):
        assert "on its way" in _forgot(site.browser, "ada@example.org")
    site.send_mail()
    assert len(site.inbox.to("ada@example.org")) == 3


def test_a_short_password_is_refused_and_the_link_still_works(site: Site) -> None:
    register(site.browser)
    _sign_out(site.browser)
    _forgot(site.browser, "ada@example.org")
    site.send_mail()
    link = site.inbox.link(site.inbox.mails[0])
    short = site.browser.post(link, data={"csrf_token": csrf(site.browser, link), "new": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    assert site.browser.get(link).status_code == 200


def test_a_forged_link_is_refused(site: Site) -> None:
    answer = site.browser.get("/reset/not-a-real-token")
    assert answer.status_code == 410 and "not valid" in answer.text and "/forgot" in answer.text


@pytest.fixture(params=["postgresql", "sqlite"])
def short_lived(request: pytest.FixtureRequest, demo: Path, smtp: Inbox) -> Iterator[Site]:
    """A site whose reset links work for one second."""
    yield from make_site(request, demo, smtp, password_reset_seconds=1)


def test_an_expired_link_says_so_and_offers_a_new_one(short_lived: Site) -> None:
    browser = short_lived.browser
    register(browser)
    _sign_out(browser)
    _forgot(browser, "ada@example.org")
    short_lived.send_mail()
    link = short_lived.inbox.link(short_lived.inbox.mails[0])
    assert "it works once, for a second" in short_lived.inbox.mails[0].get_content()
    time.sleep(2.2)
    expired = browser.get(link)
    assert expired.status_code == 410 and "this link has expired" in expired.text
    assert 'href="/forgot"' in expired.text
    post = browser.post(link, data={"csrf_token": csrf(browser, "/login"), "new": NEW_PASSWORD})
    assert post.status_code == 410
    assert _login(browser, PASSWORD) == 303
