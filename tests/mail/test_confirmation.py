"""E-mail confirmation on sign-up (EMAIL_CONFIRMATION on): no registering for a competition
until the mailed link is followed; off (the default), nothing to confirm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.browser import csrf, register
from tests.fixtures.smtp import Inbox
from tests.mail.conftest import Site, make_site


@pytest.fixture(params=["postgresql", "sqlite"])
def confirming(request: pytest.FixtureRequest, demo: Path, smtp: Inbox) -> Iterator[Site]:
    yield from make_site(request, demo, smtp, email_confirmation=True)


def _join(site: Site) -> tuple[int, str]:
    token = csrf(site.browser, "/competitions/mico")
    answer = site.browser.post(
        "/competitions/mico/register", data={"csrf_token": token, "accept_terms": "true"}
    )
    return answer.status_code, answer.text


def test_an_account_confirms_its_address_before_registering(confirming: Site) -> None:
    register(confirming.browser)
    account = confirming.browser.get("/account").text
    assert "Confirm your e-mail address" in account
    status, page = _join(confirming)
    assert status == 403 and "confirm your e-mail address first" in page

    assert confirming.send_mail() == 1
    [mail] = confirming.inbox.to("ada@example.org")
    assert str(mail["Subject"]) == "Confirm your e-mail address for mia-arena"
    link = confirming.inbox.link(mail)
    confirmed = confirming.browser.get(link)
    assert confirmed.url.path == "/account" and "ada@example.org is confirmed" in confirmed.text
    assert "Send a new link" not in confirmed.text
    status, page = _join(confirming)
    assert status == 200 and "Registered" in page
    assert confirming.browser.get("/confirm/forged").status_code == 410


def test_without_confirmation_a_new_account_registers_at_once(site: Site) -> None:
    register(site.browser)
    assert "Confirm your e-mail address" not in site.browser.get("/account").text
    status, page = _join(site)
    assert status == 200 and "Registered" in page
    assert site.send_mail() == 0
