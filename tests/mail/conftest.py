"""A site that sends its mail to the test's SMTP server, on each backend, rolled back after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.competitions.service import import_mico
from app.core.config import Settings
from app.mail import outbox
from app.main import create_app
from tests.fixtures.arena import Arena
from tests.fixtures.browser import Sent
from tests.fixtures.database import backend_engine, rolled_back
from tests.fixtures.smtp import Inbox


@dataclass
class Site:
    """The arena (MICO, a browser) with its settings and the SMTP server it sends to."""

    arena: Arena
    settings: Settings
    inbox: Inbox

    @property
    def browser(self) -> TestClient:
        return self.arena.browser

    def send_mail(self, **options: Any) -> int:
        """Run the outbox job, as the worker (or the web server's thread) would."""
        return outbox.send_pending(self.arena.factory, self.settings, **options)


def make_site(
    request: pytest.FixtureRequest, demo: Path, smtp: Inbox, **settings: Any
) -> Iterator[Site]:
    with rolled_back(backend_engine(request)) as factory:
        session = factory()
        import_mico(session, demo / "truth")
        session.commit()
        sent = Sent()
        config = smtp.settings(**settings)
        app = create_app(config, factory, sent)
        with TestClient(app, base_url="https://testserver") as browser:
            yield Site(Arena(browser, session, factory, sent, demo), config, smtp)
        session.close()


@pytest.fixture(params=["postgresql", "sqlite"])
def site(request: pytest.FixtureRequest, demo: Path, smtp: Inbox) -> Iterator[Site]:
    yield from make_site(request, demo, smtp)


Factory = Callable[[], Session]
