"""End to end: a participant who forgot their password sets a new one through the link mailed
by the live server to the test's SMTP server, in a real Chromium, with screenshots at desktop
(1280 px) and phone (390 px) width."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import Live, screenshot
from tests.fixtures.services import wait_for
from tests.fixtures.smtp import Inbox

if TYPE_CHECKING:
    from playwright.sync_api import Page

NewPage = Callable[[], "Page"]
NEW_PASSWORD = "a brand new secret"


@pytest.fixture
def live_env(smtp: Inbox) -> dict[str, str]:
    """The live server sends its mail to this test's SMTP server, quickly."""
    return {
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "PUBLIC_URL": "http://public.example",
        "MAIL_INTERVAL_SECONDS": "0.5",
    }


def test_a_forgotten_password_is_reset_through_the_mail(
    new_page: NewPage, live: Live, smtp: Inbox
) -> None:
    page = new_page()
    page.goto("/login")
    page.click("text=Forgot your password?")
    page.wait_for_url("**/forgot")
    screenshot(page, "forgot")
    page.fill("#email", "grace@example.org")
    page.click("button:has-text('Send the link')")
    page.wait_for_url("**/login")
    assert "a link to choose a new password is on its way" in page.inner_text(".flash")
    screenshot(page, "forgot-sent")

    def resets() -> list[EmailMessage]:  # grace is told the phase opened, too
        return [m for m in smtp.to("grace@example.org") if "new password" in str(m["Subject"])]

    wait_for(resets, 20, "the reset mail")
    [mail] = resets()
    link = smtp.link(mail, prefix="http://public.example")
    page.goto(link)
    screenshot(page, "reset")
    page.fill("#new", NEW_PASSWORD)
    page.click("button:has-text('Set the password')")
    page.wait_for_url("**/account")
    assert "Password set" in page.inner_text(".flash")
    screenshot(page, "reset-done")

    again = new_page()
    again.goto("/login")
    again.fill("#email", "grace@example.org")
    again.fill("#password", PASSWORD)
    again.click("button:has-text('Sign in')")
    assert "wrong email or password" in again.inner_text(".error")
    # The used link (answered 410, which this fixture counts as a fault) is tests/mail's.
