"""Notices by mail through a real SMTP server: each event told once, to those who keep
notices on; a server that refuses for a while gets the mail later; two senders at once send
each mail once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.auth import service as auth
from app.core.db import committing, sessions
from app.mail import notices, outbox
from app.mail import service as mail
from app.models.base import utcnow
from app.models.user import Role
from app.submissions.pipeline import score_submission
from tests.fixtures.browser import PASSWORD, csrf
from tests.fixtures.database import migrated
from tests.fixtures.smtp import Inbox
from tests.mail.conftest import Site

API = "/api/v1/admin/competitions/mico"
TITLE = "MICO: Microsoft Membership Inference Competition"


def subject(message: EmailMessage) -> str:
    """The subject as a mail program shows it (a long one is folded on the wire)."""
    return " ".join(str(message["Subject"]).split())


def _sign_in(browser: TestClient, email: str) -> None:
    answer = browser.post(
        "/login",
        data={"csrf_token": csrf(browser, "/login"), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def _failed_submission(site: Site, headers: dict[str, str]) -> int:
    """An upload the server then gives up scoring (no attempts left): a failed submission."""
    answer = site.arena.upload(headers, site.arena.zip("cifar10-strong"))
    assert answer.status_code == 202, answer.text
    submission_id = int(answer.json()["id"])
    assert score_submission(site.arena.factory, submission_id, attempts=0) == "skipped"
    site.arena.sent.clear()
    return submission_id


def test_a_failed_submission_is_told_once_even_when_the_job_runs_twice(site: Site) -> None:
    _, headers = site.arena.participant("ada@example.org")
    submission_id = _failed_submission(site, headers)
    assert site.send_mail() == 1
    assert site.send_mail() == 0
    [notice] = site.inbox.to("ada@example.org")
    assert subject(notice) == f"Your submission #{submission_id} to {TITLE} failed"
    body = notice.get_content()
    assert "could not be scored" in body and "in 0 attempts" in body
    assert f"https://testserver/submissions/{submission_id}" in body
    assert "https://testserver/account#notices" in body


def test_notices_off_on_the_account_page_means_none_are_sent(site: Site) -> None:
    """Turned off through the page and read back there; a failure then mails nothing, while a
    password reset (asked for) still goes."""
    _, headers = site.arena.participant("ada@example.org")
    _sign_in(site.browser, "ada@example.org")
    assert 'name="notices" value="on" checked' in site.browser.get("/account").text
    off = site.browser.post("/account/notices", data={"csrf_token": csrf(site.browser, "/account")})
    assert "Notices off" in off.text
    assert 'name="notices" value="on">' in site.browser.get("/account").text  # unchecked
    _failed_submission(site, headers)
    assert site.send_mail() == 0 and site.inbox.mails == []

    site.browser.post("/logout", data={"csrf_token": csrf(site.browser, "/account")})
    site.browser.post(
        "/forgot", data={"csrf_token": csrf(site.browser, "/forgot"), "email": "ada@example.org"}
    )
    assert site.send_mail() == 1
    assert site.inbox.mails[0]["Subject"] == "Set a new password for mia-arena"


def test_a_refusing_smtp_server_gets_the_mail_later(site: Site) -> None:
    """Refused once: due again later (not at once), then delivered, once."""
    _, headers = site.arena.participant("ada@example.org")
    _failed_submission(site, headers)
    site.inbox.refuse = 1
    assert site.send_mail() == 0 and site.inbox.refused == 1
    assert site.send_mail() == 0  # not due yet: it waits before the next attempt
    later = utcnow() + timedelta(minutes=2)
    assert site.send_mail(now=lambda: later) == 1
    assert site.send_mail(now=lambda: later + timedelta(hours=2)) == 0
    assert len(site.inbox.to("ada@example.org")) == 1


def test_registration_decisions_and_reveals_are_told(site: Site) -> None:
    _, organizer = site.arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    answer = site.browser.patch(
        f"{API}/settings", headers=organizer, json={"requires_approval": True}
    )
    assert answer.status_code == 200, answer.text
    ada, _ = site.arena.participant("ada@example.org")
    bob, _ = site.arena.participant("bob@example.org")
    for user, status in ((ada, "approved"), (bob, "rejected")):
        answer = site.browser.patch(
            f"{API}/participants/{user.id}", headers=organizer, json={"status": status}
        )
        assert answer.status_code == 200, answer.text
    assert site.browser.post(f"{API}/reveal", headers=organizer).status_code == 200
    site.send_mail()
    told = {(m["To"], subject(m)) for m in site.inbox.mails}
    assert ("ada@example.org", f"Your registration for {TITLE} was approved") in told
    assert ("bob@example.org", f"Your registration for {TITLE} was rejected") in told
    revealed = [m for m in site.inbox.mails if subject(m) == f"Results of {TITLE} are out"]
    assert [m["To"] for m in revealed] == ["ada@example.org"]  # approved participants only


def test_a_closing_phase_is_told_once_a_day_before(site: Site) -> None:
    _, organizer = site.arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    site.arena.participant("ada@example.org")
    phases = site.browser.get(f"{API}/phases", headers=organizer).json()
    development = next(p for p in phases if p["name"] == "Development")
    ends = (utcnow() + timedelta(hours=12)).replace(microsecond=0)
    answer = site.browser.post(
        f"{API}/phases/{development['id']}", headers=organizer, json={"ends_at": ends.isoformat()}
    )
    assert answer.status_code == 200, answer.text
    notices.sweep_phases(site.arena.factory)
    notices.sweep_phases(site.arena.factory)
    assert site.send_mail() == 1
    [closing] = site.inbox.to("ada@example.org")
    assert subject(closing) == f"Development of {TITLE} closes in less than a day"
    assert f"{ends:%Y-%m-%d %H:%M} UTC" in closing.get_content()


@pytest.fixture(params=["postgresql", "sqlite"])
def committed(
    request: pytest.FixtureRequest, new_postgres_database: Callable[[], str], tmp_path: Path
) -> str:
    """A database URL whose commits stay (senders on several connections see each other)."""
    if request.param == "postgresql":
        return new_postgres_database()
    return f"sqlite:///{tmp_path / 'mail.sqlite3'}"


def test_two_senders_at_once_send_each_mail_once(committed: str, smtp: Inbox) -> None:
    engine = migrated(committed)
    factory = sessions(engine)
    with committing(factory()) as session:
        user = auth.create_user(session, "ada@example.org", PASSWORD, role=Role.PARTICIPANT)
        for _ in range(6):
            mail.send(session, user, "confirm_email", name="ada", path="/confirm/x")
    smtp.delay = 0.05
    settings = smtp.settings()
    threads = [
        threading.Thread(target=outbox.send_pending, args=(factory, settings)) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(smtp.mails) == 6
    assert outbox.send_pending(factory, settings) == 0
    engine.dispose()


def test_a_phase_opened_by_an_organizer_is_told_once(site: Site) -> None:
    _, organizer = site.arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    site.arena.participant("ada@example.org")
    phases = site.browser.get(f"{API}/phases", headers=organizer).json()
    final = next(p for p in phases if p["name"] == "Final")
    opened = site.browser.post(f"{API}/phases/{final['id']}/open", headers=organizer)
    assert opened.status_code == 200, opened.text
    notices.sweep_phases(site.arena.factory)
    notices.sweep_phases(site.arena.factory)
    site.send_mail()
    told = [subject(m) for m in site.inbox.to("ada@example.org")]
    assert told.count(f"Final of {TITLE} is open") == 1
