"""`mia-arena users create` and `tokens create` on a real database, as an admin runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from app.auth import service as auth
from app.core.db import make_engine

CLI = str(Path(sys.executable).with_name("mia-arena"))


def test_create_an_organizer_and_a_token(
    new_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    """The password comes from stdin, a clash says so, and the token works for its owner."""
    url = new_postgres_database()
    env = {**os.environ, "DATABASE_URL": url}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    assert run("db", "upgrade").returncode == 0
    made = run(
        "users",
        "create",
        "ada@example.org",
        "--role",
        "organizer",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert made.returncode == 0, made.stderr
    assert "created organizer ada@example.org (display name ada)" in made.stdout
    assert "correct horse" not in made.stdout
    again = run("users", "create", "ada@example.org", "--password-stdin", stdin="another pw 123\n")
    assert again.returncode == 1
    assert "error: an account with the email ada@example.org already exists" in again.stderr
    generated = run("users", "create", "bo@example.org")
    assert generated.stdout.splitlines()[-1].startswith("password: ")

    issued = run("tokens", "create", "ada@example.org", "--name", "laptop")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.splitlines()[-1]
    engine = make_engine(url)
    with Session(engine) as session:
        owner = auth.user_for_token(session, token)
        assert owner is not None and owner.email == "ada@example.org"
    engine.dispose()
    missing = run("tokens", "create", "nobody@example.org")
    assert missing.returncode == 1 and "no account has the email" in missing.stderr
