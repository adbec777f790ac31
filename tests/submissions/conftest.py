"""A MICO competition from demo data, a participant with a token, and a browser on the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import registrations
from app.competitions.service import import_mico
from app.core.config import Settings
from app.main import create_app
from app.models.user import Role, User
from app.submissions.pipeline import score_submission
from tests.fixtures.browser import PASSWORD, Sent
from tests.fixtures.database import backend_engine, rolled_back


@dataclass
class Arena:
    """The app and its database, rolled back after the test; uploads are sent to `sent`."""

    browser: TestClient
    session: Session
    factory: Callable[[], Session]
    sent: Sent
    demo: Path

    def participant(
        self, email: str, *, role: Role = Role.PARTICIPANT, register: bool = True
    ) -> tuple[User, dict[str, str]]:
        """A new account (registered to mico unless told not to) and its API headers."""
        user = auth.create_user(self.session, email, PASSWORD, role=role)
        if register:
            competition = registrations.competition_by_slug(self.session, "mico")
            registrations.register(self.session, competition, user, accept_terms=True)
        token = auth.create_token(self.session, user)[1]
        self.session.commit()
        return user, {"Authorization": f"Bearer {token}"}

    def zip(self, name: str) -> bytes:
        """A demo submission, e.g. `cifar10-strong`."""
        return (self.demo / "submissions" / f"{name}.zip").read_bytes()

    def upload(
        self,
        headers: dict[str, str],
        data: bytes,
        track: str = "cifar10",
        description: str = "",
    ) -> httpx.Response:
        """POST a zip to the API, as a script would."""
        return self.browser.post(
            f"/api/v1/competitions/mico/tracks/{track}/submissions",
            headers=headers,
            files={"file": ("predictions.zip", data, "application/zip")},
            data={"description": description},
        )

    def score_sent(self) -> list[str]:
        """Run the real scoring code on everything sent so far, as a worker would."""
        outcomes = [score_submission(self.factory, i) for i in self.sent]
        self.sent.clear()
        return outcomes


@pytest.fixture(params=["postgresql", "sqlite"])
def arena(request: pytest.FixtureRequest, demo: Path) -> Iterator[Arena]:
    with rolled_back(backend_engine(request)) as factory:
        session = factory()
        import_mico(session, demo / "truth")
        session.commit()
        sent = Sent()
        app = create_app(Settings(), factory, sent)
        with TestClient(app, base_url="https://testserver") as browser:
            yield Arena(browser, session, factory, sent, demo)
        session.close()
