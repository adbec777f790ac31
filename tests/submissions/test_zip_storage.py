"""Where zips live: files under ZIP_DIRECTORY (uploaded, scored and downloaded from there),
every read checked against the zip's SHA-256, and `move-zips` between the two places."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, update

from app.core import zip_storage
from app.core.config import Settings, get_settings
from app.core.db import sessions
from app.main import create_app
from app.models.submission import Submission, SubmissionStatus
from app.models.user import Role
from tests.fixtures.arena import Arena, seed_mico
from tests.fixtures.browser import Sent
from tests.fixtures.database import migrated

ATTACKS = ("strong", "weak", "medium", "random")
CLI = str(Path(sys.executable).with_name("mia-arena"))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """ZIP_STORAGE=directory on a fresh folder for this test (the process's settings)."""
    monkeypatch.setenv("ZIP_STORAGE", "directory")
    monkeypatch.setenv("ZIP_DIRECTORY", str(tmp_path / "zips"))
    get_settings.cache_clear()
    yield tmp_path / "zips"
    get_settings.cache_clear()


def _file(folder: Path, data: bytes) -> Path:
    sha256 = hashlib.sha256(data).hexdigest()
    return folder / sha256[:2] / sha256[2:4] / f"{sha256}.zip"


def _upload(arena: Arena, email: str, attack: str = "strong") -> tuple[int, dict[str, str]]:
    _, headers = arena.participant(email)
    answer = arena.upload(headers, arena.zip(f"cifar10-{attack}"))
    assert answer.status_code == 202, answer.text
    return answer.json()["id"], headers


def _row(arena: Arena, submission_id: int) -> Submission:
    arena.session.expire_all()
    return arena.session.get_one(Submission, submission_id)


def test_an_upload_is_a_file_scored_and_downloaded_from_there(folder: Path, arena: Arena) -> None:
    """The zip is a file named by its SHA-256, not in the row; it scores as from the database
    and downloads byte for byte; nothing half-written is left beside it."""
    data = arena.zip("cifar10-strong")
    submission_id, headers = _upload(arena, "ada@example.org")
    assert _file(folder, data).read_bytes() == data
    assert [p.name for p in _file(folder, data).parent.iterdir()] == [_file(folder, data).name]
    row = _row(arena, submission_id)
    assert row.zip_storage == "directory" and row.zip_bytes is None

    assert arena.score_sent() == ["scored"]
    assert arena.intervals_sent() == ["done"]
    answer = arena.browser.get(f"/api/v1/submissions/{submission_id}/zip", headers=headers)
    assert answer.status_code == 200 and answer.content == data
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    path = f"/api/v1/admin/competitions/mico/submissions/{submission_id}/zip"
    assert arena.browser.get(path, headers=organizer).content == data


def test_a_tampered_file_fails_as_the_servers_fault_and_is_not_downloaded(
    folder: Path, arena: Arena
) -> None:
    """Other bytes under the zip's name are never scored: the submission fails as the server's
    fault (not counted), saying so, and a download is a 503 with the reason, not other bytes."""
    submission_id, headers = _upload(arena, "ada@example.org")
    _file(folder, arena.zip("cifar10-strong")).write_bytes(arena.zip("cifar10-weak"))

    assert arena.score_sent() == ["failed"]
    row = _row(arena, submission_id)
    assert row.status is SubmissionStatus.FAILED and row.server_fault
    assert f"stored zip of submission {submission_id} is damaged or missing" in (row.error or "")
    answer = arena.browser.get(f"/api/v1/submissions/{submission_id}/zip", headers=headers)
    assert answer.status_code == 503
    assert "does not match its SHA-256" in answer.json()["detail"]
    assert str(folder) not in answer.text  # where files are is for the log only


def test_an_upload_the_folder_cannot_take_is_refused_with_nothing_stored(
    folder: Path, arena: Arena
) -> None:
    folder.write_text("a file where the folder should be")
    _, headers = arena.participant("ada@example.org")
    answer = arena.upload(headers, arena.zip("cifar10-strong"))
    assert answer.status_code == 503 and "could not store the zip" in answer.json()["detail"]
    assert arena.session.scalars(select(Submission.id)).all() == [] and arena.sent == []


def test_a_missing_file_fails_the_same_way(folder: Path, arena: Arena) -> None:
    submission_id, _ = _upload(arena, "ada@example.org")
    _file(folder, arena.zip("cifar10-strong")).unlink()
    assert arena.score_sent() == ["failed"]
    assert _row(arena, submission_id).server_fault


def test_a_changed_database_copy_is_caught_too(arena: Arena) -> None:
    """The default storage checks the digest as well: bytes changed in the row fail."""
    submission_id, _ = _upload(arena, "ada@example.org")
    row = _row(arena, submission_id)
    assert row.zip_storage == "database" and row.zip_bytes == arena.zip("cifar10-strong")
    arena.session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(zip_bytes=arena.zip("cifar10-weak"))
    )
    arena.session.commit()
    assert arena.score_sent() == ["failed"]
    assert _row(arena, submission_id).server_fault


def _digests(arena: Arena, ids: list[int]) -> dict[int, str]:
    """Each submission's zip as read back (checked), by its own digest."""
    with arena.factory() as session:
        return {i: hashlib.sha256(zip_storage.read(session, i)).hexdigest() for i in ids}


def _places(arena: Arena) -> list[tuple[str | None, bool]]:
    arena.session.expire_all()
    rows = arena.session.execute(
        select(Submission.zip_storage, Submission.zip_bytes.is_(None)).order_by(Submission.id)
    )
    return [(where, empty) for where, empty in rows.tuples()]


def test_move_zips_both_ways_keeps_every_digest_and_carries_on_after_a_stop(
    arena: Arena, tmp_path: Path
) -> None:
    """Rows stored in the database (one written before the setting: NULL) go to files and
    back; stopped after one batch, a second run moves the rest; each digest is kept."""
    ids = [_upload(arena, f"p{i}@example.org", attack)[0] for i, attack in enumerate(ATTACKS)]
    ids.append(_upload(arena, "twin@example.org", "strong")[0])  # the same file as the first
    arena.session.execute(
        update(Submission).where(Submission.id == ids[0]).values(zip_storage=None)
    )
    arena.session.commit()
    before = _digests(arena, ids)
    settings = Settings(zip_directory=str(tmp_path / "zips"))

    first = next(zip_storage.move(arena.factory, "directory", batch=2, settings=settings))
    assert first.moved == 2 and first.damaged == []
    assert _places(arena) == [("directory", True)] * 2 + [("database", False)] * 3
    moved = [b.moved for b in zip_storage.move(arena.factory, "directory", 2, settings)]
    assert moved == [2, 1] and _places(arena) == [("directory", True)] * 5
    assert len(list((tmp_path / "zips").rglob("*.zip"))) == 4  # identical zips share a file
    assert _digests_with(arena, ids, settings) == before

    back = [b.moved for b in zip_storage.move(arena.factory, "database", 500, settings)]
    assert back == [5] and _places(arena) == [("database", False)] * 5
    assert _digests(arena, ids) == before
    assert list(zip_storage.move(arena.factory, "database", 500, settings)) == []


def _digests_with(arena: Arena, ids: list[int], settings: Settings) -> dict[int, str]:
    with arena.factory() as session:
        return {i: hashlib.sha256(zip_storage.read(session, i, settings)).hexdigest() for i in ids}


def test_move_zips_leaves_a_damaged_zip_where_it_is(arena: Arena, tmp_path: Path) -> None:
    """A copy that does not match its digest is not moved (nor its database copy cleared)."""
    good, _ = _upload(arena, "ada@example.org")
    bad, _ = _upload(arena, "bob@example.org", "weak")
    arena.session.execute(
        update(Submission).where(Submission.id == bad).values(zip_bytes=b"PK not it")
    )
    arena.session.commit()
    settings = Settings(zip_directory=str(tmp_path / "zips"))
    (done,) = zip_storage.move(arena.factory, "directory", 500, settings)
    assert done.moved == 1 and done.damaged == [bad]
    assert _places(arena) == [("directory", True), ("database", False)]
    assert _row(arena, bad).zip_bytes == b"PK not it"


def test_directory_storage_needs_a_folder() -> None:
    with pytest.raises(ValidationError, match="ZIP_STORAGE=directory needs ZIP_DIRECTORY"):
        Settings(zip_storage="directory")


def test_writing_a_file_twice_keeps_one_whole_file(tmp_path: Path) -> None:
    """Written once under its digest; a rewrite (a rerun of move-zips) leaves one file and
    no temporary one; a file that went bad is replaced by the good bytes."""
    files = zip_storage.DirectoryStore(tmp_path)
    sha256 = hashlib.sha256(b"zip").hexdigest()
    assert files.put(sha256, b"zip") == sha256
    files.path(sha256).write_bytes(b"bad")
    files.put(sha256, b"zip")
    assert [p.name for p in files.path(sha256).parent.iterdir()] == [f"{sha256}.zip"]
    assert files.get(sha256, sha256) == b"zip"
    with pytest.raises(zip_storage.ZipUnreadable, match="does not match its SHA-256"):
        files.get(sha256, hashlib.sha256(b"other").hexdigest())


def test_the_command_moves_every_zip_in_batches_and_says_how_many(
    demo: Path, tmp_path: Path, new_postgres_database: Callable[[], str]
) -> None:
    """`mia-arena submissions move-zips`, run as an operator runs it on a real database: to
    files in batches, a rerun with nothing left, then back to the database."""
    url = new_postgres_database()
    engine = migrated(url)
    factory = sessions(engine)
    _, headers = seed_mico(factory, demo)
    app = create_app(Settings(database_url=url), factory, Sent())
    with TestClient(app, base_url="https://testserver") as browser:
        for attack in ("strong", "weak", "medium"):
            answer = browser.post(
                "/api/v1/competitions/mico/tracks/cifar10/submissions",
                headers=headers,
                files={
                    "file": ("p.zip", (demo / f"submissions/cifar10-{attack}.zip").read_bytes())
                },
            )
            assert answer.status_code == 202, answer.text
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "ZIP_DIRECTORY": str(tmp_path / "zips")}

    def move(*args: str) -> subprocess.CompletedProcess[str]:
        command = [CLI, "submissions", "move-zips", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    there = move("--to", "directory", "--batch", "2")
    assert there.returncode == 0, there.stderr
    assert there.stdout.splitlines() == [
        "2 zips moved to the directory so far",
        "3 zips moved to the directory so far",
        "3 zips moved to the directory; every other one was there already",
    ]
    assert len(list((tmp_path / "zips").rglob("*.zip"))) == 3
    assert move("--to", "directory").stdout.startswith("0 zips moved to the directory;")
    back = move("--to", "database")
    assert back.returncode == 0 and "3 zips moved to the database;" in back.stdout
    env.pop("ZIP_DIRECTORY")
    refused = move("--to", "database")
    assert refused.returncode == 1 and "ZIP_DIRECTORY is not set" in refused.stderr
