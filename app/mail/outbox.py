"""Sending the outbox: mails are written in the transaction of their event (app.mail.service)
and sent once it commits, by a job of this module: a Celery task with REDIS_URL, a thread of
the web server without. A row is claimed before it is sent, so two senders never send it both;
a failure is retried later each time; a sent row is marked sent.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import SessionFactory, committing
from app.mail import notices
from app.models.base import utcnow
from app.models.outbox import OutboxMail

log = logging.getLogger(__name__)
SEND_TASK = "mia.send_mail"
BATCH = 50
# A claimed mail is the claimer's this long: another sender takes it only after (its sender
# died before saying how the sending went).
CLAIM = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
SMTP_TIMEOUT = 20

# Called once a transaction that wrote a mail commits: wakes this process's sender (or sends
# the Celery task). Set by whoever runs the sending (the web app, a worker); none: the next
# round of the sender's own timer sends it.
wakers: list[Callable[[], None]] = []


def wake() -> None:
    """Tell the senders there is mail; never raises (their timer sends it anyway)."""
    for waker in list(wakers):
        try:
            waker()
        except Exception:
            log.warning("could not wake the mail sender; it sends on its next round")


def celery_waker(redis_url: str) -> Callable[[], None]:
    """A waker sending the send-mail task to the Celery workers (REDIS_URL set)."""
    from celery import Celery

    from app.core.jobs import QUEUE, celery_settings

    celery = Celery("mia-arena-mail", set_as_current=False)
    celery.conf.update(celery_settings(redis_url))

    def send_task() -> None:
        celery.send_task(SEND_TASK, queue=QUEUE, retry=False)

    return send_task


@dataclass
class Claimed:
    """A mail claimed for sending, read in the claiming transaction."""

    id: int
    to_address: str
    kind: str
    context: dict[str, Any]


def send_pending(
    factory: SessionFactory,
    settings: Settings,
    *,
    limit: int = BATCH,
    now: Callable[[], datetime] = utcnow,
) -> int:
    """Send the mails due: claim them, send each, mark it sent (or due again later). The
    number sent. `now` is the clock (tests move it on)."""
    sent = 0
    for mail in _claim(factory, settings, limit, now()):
        try:
            subject, body = render(settings, mail.kind, mail.context)
            deliver(settings, mail.to_address, subject, body)
        except Exception as exc:  # the SMTP server away or refusing: retried later
            _failed(factory, settings, mail, exc, now())
            continue
        with committing(factory()) as session:
            session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail.id)
                .values(sent_at=now(), last_error=None)
            )
        sent += 1
    return sent


def _claim(factory: SessionFactory, settings: Settings, limit: int, now: datetime) -> list[Claimed]:
    """The due mails, each claimed by moving its next attempt past the claim's end: under
    the rows' locks on PostgreSQL (SKIP LOCKED: a second sender takes others), and only if
    unchanged since read on SQLite (a second sender finds it changed)."""
    until = now + CLAIM
    claimed: list[Claimed] = []
    with committing(factory()) as session:
        rows = session.execute(
            select(OutboxMail.id, OutboxMail.next_attempt_at)
            .where(
                OutboxMail.sent_at.is_(None),
                OutboxMail.next_attempt_at <= now,
                OutboxMail.attempts < settings.mail_attempts,
            )
            .order_by(OutboxMail.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for mail_id, seen in rows:
            taken = session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id, OutboxMail.next_attempt_at == seen)
                .where(OutboxMail.sent_at.is_(None))
                .values(next_attempt_at=until, attempts=OutboxMail.attempts + 1)
            )
            if taken.rowcount:  # type: ignore[attr-defined]
                row = session.get_one(OutboxMail, mail_id)
                claimed.append(Claimed(row.id, row.to_address, row.kind, dict(row.context)))
    return claimed


def _failed(
    factory: SessionFactory, settings: Settings, mail: Claimed, exc: Exception, now: datetime
) -> None:
    """Due again later: a minute after the first failure, doubling up to an hour."""
    with committing(factory()) as session:
        row = session.get(OutboxMail, mail.id)
        if row is None or row.sent_at is not None:
            return
        wait = min(timedelta(seconds=30 * 2 ** min(row.attempts, 10)), MAX_BACKOFF)
        row.next_attempt_at = now + wait
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        last = row.attempts >= settings.mail_attempts
    (log.error if last else log.warning)(
        "mail %s to %s not sent (attempt %s): %s%s",
        mail.id,
        mail.to_address,
        row.attempts,
        exc,
        "; giving up" if last else f"; retrying in {wait}",
    )


def render(settings: Settings, kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """A mail's subject (its template's first line, after `Subject:`) and body; its links
    start with the site's PUBLIC_URL."""
    site = settings.public_url.rstrip("/")
    text = _mail_templates.get_template(f"{kind}.txt").render(context, site=site)
    first, _, body = text.partition("\n")
    return first.removeprefix("Subject:").strip(), body.lstrip("\n")


_mail_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[2] / "templates" / "mail"),
    autoescape=False,  # plain text mails: nothing here is HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def deliver(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one mail through the configured SMTP server; without SMTP_HOST, print it to the
    log (development, the demo)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_from, to, subject
    message["Message-ID"] = make_msgid(domain="mia-arena")
    message.set_content(body)
    if settings.smtp_host is None:
        log.info("mail (SMTP_HOST is not set, so printed here)\n%s", message.as_string())
        return
    smtp_class = smtplib.SMTP_SSL if settings.smtp_security == "tls" else smtplib.SMTP
    with smtp_class(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def pending_count(session: Session) -> int:
    """Mails not sent yet (those given up included)."""
    query = select(func.count()).select_from(OutboxMail).where(OutboxMail.sent_at.is_(None))
    return session.scalar(query) or 0


class Mailer(threading.Thread):
    """Sends the outbox every `mail_interval_seconds`, and at once when woken: a daemon thread
    of the web server (embedded mode) or of a worker (the retries)."""

    def __init__(self, factory: SessionFactory, settings: Settings) -> None:
        super().__init__(name="mia-mailer", daemon=True)
        self._factory, self._settings = factory, settings
        self.woken = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.woken.wait(self._settings.mail_interval_seconds)
            self.woken.clear()
            if self.stopped.is_set():
                return
            try:
                notices.sweep_phases(self._factory)
                send_pending(self._factory, self._settings)
            except Exception:  # the database away for a while: next round
                log.exception("sending mail failed; trying again next round")

    def stop(self) -> None:
        self.stopped.set()
        self.woken.set()
