"""`mia-arena demo`: a whole competition on one SQLite file, ready to click through.

MICO from synthetic ground truth for all four tracks, an organizer and four participants, and
their submissions scored (by the same code a worker runs; their intervals while it serves), so
that every dev leaderboard has rows. Made once in a folder of its own; later runs find it there
and start at once.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import uvicorn
from sqlalchemy import select
from starlette.types import ASGIApp

from app.auth import service as auth
from app.competitions import registrations
from app.competitions.service import import_mico
from app.core.db import committing, make_engine, sessions, upgrade
from app.leaderboard.intervals import compute_intervals
from app.models.base import utcnow
from app.models.track import Track
from app.models.user import Role
from app.scoring.demo import write_demo_data
from app.submissions import service as submissions
from app.submissions.pipeline import score_submission

# Who uploads what, oldest first: alice improves on her first try, so her row counts two.
UPLOADS = (
    ("alice", "weak"),
    ("bob", "medium"),
    ("carol", "weak"),
    ("dave", "random"),
    ("alice", "strong"),
)


@dataclass
class Account:
    """A demo account and its password (made at random on the first run)."""

    email: str
    name: str
    role: str
    password: str


@dataclass
class Demo:
    """What the demo runs on."""

    database_url: str
    secret_key: str
    accounts: list[Account]
    # Scored on the first run but still without their intervals: computed while serving.
    without_intervals: list[int] = field(default_factory=list)


def prepare(folder: Path) -> Demo:
    """The demo in `folder`: made there on the first run, found there on later ones. A first
    run stopped half-way (no accounts file yet) is made again from scratch."""
    folder = folder.resolve()
    saved = folder / "accounts.json"
    database = folder / "arena.sqlite3"
    url = f"sqlite:///{database}"
    if saved.exists():
        stored = json.loads(saved.read_text())
        accounts = [Account(**a) for a in stored["accounts"]]
        _migrate(url)  # made by an earlier version of mia-arena, perhaps
        return Demo(url, stored["secret_key"], accounts)
    folder.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    data = folder / "demo-data"
    shutil.rmtree(data, ignore_errors=True)
    write_demo_data(data, seed=0)
    accounts = [Account("organizer@demo.test", "organizer", "organizer", _password())] + [
        Account(f"{name}@demo.test", name, "participant", _password())
        for name in dict.fromkeys(name for name, _ in UPLOADS)
    ]
    scored = _fill(url, data, accounts)
    demo = Demo(url, secrets.token_urlsafe(48), accounts, scored)
    saved.write_text(
        json.dumps(
            {"secret_key": demo.secret_key, "accounts": [asdict(a) for a in accounts]}, indent=2
        )
    )
    saved.chmod(0o600)
    return demo


def _password() -> str:
    return secrets.token_urlsafe(9)


def _migrate(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        upgrade(connection)
    engine.dispose()


def _fill(url: str, data: Path, accounts: list[Account]) -> list[int]:
    _migrate(url)
    engine = make_engine(url)
    factory = sessions(engine)
    queued = []
    with committing(factory()) as session:
        competition = import_mico(session, data / "truth").competition
        users = {}
        for account in accounts:
            user = auth.create_user(
                session,
                account.email,
                account.password,
                role=Role(account.role),
                display_name=account.name,
            )
            users[account.name] = user
            if account.role == "organizer":
                registrations.add_organizer(session, competition, user)
            else:
                registrations.register(session, competition, user, accept_terms=True)
        for track in session.scalars(select(Track).order_by(Track.name)):
            for name, attack in UPLOADS:
                zip_path = data / "submissions" / f"{track.name}-{attack}.zip"
                submission = submissions.accept(
                    session,
                    competition,
                    track,
                    users[name],
                    zip_path.read_bytes(),
                    filename=zip_path.name,
                    description=f"{attack} attack",
                    now=utcnow(),
                ).submission
                queued.append(submission.id)
    for submission_id in queued:
        score_submission(factory, submission_id)
    engine.dispose()
    return queued


def compute_intervals_meanwhile(demo: Demo) -> threading.Thread:
    """Compute the intervals the first run left out (a few seconds' work, which the server
    need not wait for: the leaderboards show them as they come)."""

    def run() -> None:
        engine = make_engine(demo.database_url)
        factory = sessions(engine)
        for submission_id in demo.without_intervals:
            compute_intervals(factory, submission_id)
        engine.dispose()

    thread = threading.Thread(target=run, name="demo-intervals", daemon=True)
    thread.start()
    return thread


class _Announcing(uvicorn.Server):
    """A server that says it is ready once its socket listens (and the app has started)."""

    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._ready()


def serve(application: ASGIApp, host: str, port: int, ready: Callable[[], None]) -> None:
    """Serve the demo's application until stopped; `ready` is called once a connection to the
    port is taken, never before. Exit status 3 when it could not start (the port taken, say),
    as `uvicorn.run`."""
    config = uvicorn.Config(application, host=host, port=port, log_level="warning")
    server = _Announcing(config, ready)
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl+C: uvicorn stopped cleanly, then raised it again
        pass
    if not server.started:
        raise SystemExit(3)
