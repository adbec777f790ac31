"""Where submission zips live: in their row (ZIP_STORAGE=database, the default) or as files of
a directory (ZIP_STORAGE=directory, ZIP_DIRECTORY=path) shared by every web process and worker.

A row's `zip_storage` says where its zip is (None: the database, as before the setting). The
directory is content-addressed, `ab/cd/<sha256>.zip`, each file written to a temporary file,
synced and renamed into place, so a crash never leaves half a file under the real name. Every
read, from either place, checks the bytes against the row's SHA-256: a damaged or missing zip
is an error naming the submission, never a wrong score or a wrong download.

Here, not in app.submissions: the leaderboard's intervals read zips too, and the submissions
domain already imports the leaderboard.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import committing, read_bytes
from app.core.errors import Unavailable
from app.models.submission import Submission

log = logging.getLogger(__name__)
DATABASE, DIRECTORY = "database", "directory"


class ZipUnreadable(Unavailable):
    """A stored zip that is missing or does not match its SHA-256: the server's fault."""


class DirectoryStore:
    """Zips as files under `root`, named by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """`root/ab/cd/abcd….zip`: two levels of 256 folders keep each folder small."""
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.zip"

    def put(self, sha256: str, data: bytes) -> str:
        """Write the zip (once: the same bytes already there are kept) and return its key."""
        path = self.path(sha256)
        if path.exists() and _digest(path.read_bytes()) == sha256:
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_folder(path.parent)
        return sha256

    def get(self, key: str, sha256: str) -> bytes:
        """The zip's bytes, checked against `sha256`; ZipUnreadable if missing or different."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ZipUnreadable(f"the file {path} is missing") from None
        if _digest(data) != sha256:
            raise ZipUnreadable(f"the file {path} does not match its SHA-256")
        return data


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut (where the system allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - systems that cannot open a folder
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def directory_store(settings: Settings | None = None) -> DirectoryStore:
    """The store of ZIP_DIRECTORY; a clear error when it is not set."""
    settings = settings or get_settings()
    if not settings.zip_directory:
        raise ZipUnreadable("ZIP_DIRECTORY is not set, so zips stored as files cannot be read")
    return DirectoryStore(Path(settings.zip_directory))


def store(submission: Submission, data: bytes, settings: Settings | None = None) -> None:
    """Put an accepted zip where ZIP_STORAGE says, and record where on its (new) row."""
    settings = settings or get_settings()
    submission.sha256 = _digest(data)
    if settings.zip_storage == DIRECTORY:
        try:
            directory_store(settings).put(submission.sha256, data)
        except OSError as exc:  # a full disk, a folder not writable: refused, nothing counted
            log.error("could not write a zip under ZIP_DIRECTORY: %s", exc)
            raise Unavailable(
                "the server could not store the zip (its storage is not writable); nothing "
                "was stored or counted: try again later, or tell the organizers"
            ) from None
        submission.zip_bytes, submission.zip_storage = None, DIRECTORY
    else:
        submission.zip_bytes, submission.zip_storage = data, DATABASE


def read(session: Session, submission_id: int, settings: Settings | None = None) -> bytes:
    """A submission's zip, from wherever its row says, checked against its SHA-256; empty when
    there is no such submission. ZipUnreadable (a 503 with its message) when it cannot be
    read as uploaded."""
    found = session.execute(
        select(Submission.zip_storage, Submission.sha256).where(Submission.id == submission_id)
    ).one_or_none()
    if found is None:
        return b""
    where, sha256 = found
    try:
        if where == DIRECTORY:
            return directory_store(settings).get(sha256, sha256)
        data = read_bytes(session, Submission.zip_bytes, submission_id)
        if _digest(data) != sha256:
            raise ZipUnreadable("the database's copy does not match its SHA-256")
        return data
    except ZipUnreadable as exc:
        log.error("the zip of submission %s cannot be read: %s", submission_id, exc.message)
        raise ZipUnreadable(  # where it is stored is for the log, not for every reader
            f"the stored zip of submission {submission_id} is damaged or missing (it does not "
            "match its SHA-256); the server's log says more, and an administrator can restore it"
        ) from None


@dataclass
class Moved:
    """What one batch of `move` did: zips moved, and those left where they were because they
    could not be read as uploaded (their ids; an administrator restores them first)."""

    moved: int = 0
    damaged: list[int] = field(default_factory=list)


def move(
    factory: Callable[[], Session], to: str, batch: int = 500, settings: Settings | None = None
) -> Iterator[Moved]:
    """Move every zip stored elsewhere to `to` (`database` or `directory`), one batch a
    transaction, yielding what each batch did. Each zip is checked against its SHA-256 where it
    is, and again where it lands (a file is read back from the disk) before the row is changed,
    so nothing is lost; stopped at any point, running it again carries on. Files moved to the
    database are kept: identical zips share one, and a backup of the folder stays whole."""
    settings = settings or get_settings()
    directory_store(settings)  # ZIP_DIRECTORY is needed either way: say so before any batch
    after = 0
    while True:
        with committing(factory()) as session:
            ids = _still_elsewhere(session, to, after, batch)
            if not ids:
                return
            done = Moved()
            for submission_id in ids:
                if _move_one(session, settings, submission_id, to):
                    done.moved += 1
                else:
                    done.damaged.append(submission_id)
            after = ids[-1]
        yield done


def _still_elsewhere(session: Session, to: str, after: int, batch: int) -> list[int]:
    """The next `batch` ids after `after` whose zip is not stored in `to`."""
    if to == DIRECTORY:
        where = or_(Submission.zip_storage.is_(None), Submission.zip_storage == DATABASE)
    else:
        where = Submission.zip_storage == DIRECTORY
    query = select(Submission.id).where(where, Submission.id > after)
    return list(session.scalars(query.order_by(Submission.id).limit(batch)))


def _move_one(session: Session, settings: Settings, submission_id: int, to: str) -> bool:
    """Move one zip, under its row's lock; False (nothing changed) when it cannot be read."""
    row = session.execute(
        select(Submission.sha256).where(Submission.id == submission_id).with_for_update()
    ).one()
    try:
        data = read(session, submission_id, settings)
    except ZipUnreadable:
        return False
    if to == DIRECTORY:
        files = directory_store(settings)
        files.put(row.sha256, data)
        files.get(row.sha256, row.sha256)  # as written, from the disk, before the copy goes
        values: dict[str, object] = {"zip_bytes": None, "zip_storage": DIRECTORY}
    else:
        values = {"zip_bytes": data, "zip_storage": DATABASE}
    session.execute(update(Submission).where(Submission.id == submission_id).values(**values))
    return True
