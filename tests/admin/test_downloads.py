"""Organizers download submissions: one as uploaded, or every participant's representative on a
track's split as one zip with a manifest, streamed with one submission in memory at a time;
names participants chose never become paths."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tracemalloc
import zipfile

import pytest
from sqlalchemy import select, update

from app.admin.downloads.service import Representative, manifest, safe_name, stream_zip
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.submission import Submission
from app.models.team import Team
from app.models.track import Track
from app.models.user import Role, User
from app.teams import service as teams
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena

API = "/api/v1/admin/competitions/mico"
PAGE = "/competitions/mico/admin"


def _opened(content: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None  # every entry's CRC is right
    return archive


def _manifest(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))


def test_one_submission_as_uploaded_named_for_its_participant(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    data = arena.zip("cifar10-strong")
    submission = arena.upload(ada, data).json()["id"]
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    path = f"{API}/submissions/{submission}/zip"
    answer = arena.browser.get(path, headers=organizer)
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="mico-cifar10-ada-{submission}.zip"'
    )
    assert arena.browser.get(path, headers=ada).status_code == 403
    assert arena.browser.get(path).status_code == 401
    for bad in ("999999", str(2**40), "0", "-3"):
        answer = arena.browser.get(f"{API}/submissions/{bad}/zip", headers=organizer)
        assert answer.status_code == 404, bad
    audited = arena.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "submission.download")
    ).all()
    assert audited == [{"submission": submission}]

    _sign_in(arena, "org@example.org")
    listing = arena.browser.get(f"{PAGE}/submissions").text
    link = f"{PAGE}/submissions/{submission}/zip"
    assert link in listing and "representatives.zip?split=final" in listing
    assert arena.browser.get(link).content == data


def test_the_representatives_of_a_split_with_a_manifest(arena: Arena) -> None:
    """The leaderboard's exact standings choose (the latest, never the Ladder's rounding);
    failed and unscored submissions are left out; entries hold the uploaded bytes."""
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    _, carl = arena.participant("carl@example.org")
    uploads = {}
    for headers, attack in ((ada, "weak"), (bob, "medium"), (ada, "strong")):
        uploads[attack] = arena.upload(headers, arena.zip(f"cifar10-{attack}")).json()["id"]
    arena.score_sent()
    arena.upload(carl, arena.zip("cifar10-random"))  # queued, never scored: not ranked
    arena.session.execute(update(Phase).where(Phase.name == "Development").values(ladder_eta=0.1))
    arena.session.commit()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)

    for split in ("dev", "final"):
        answer = arena.browser.get(
            f"{API}/tracks/cifar10/representatives.zip",
            params={"split": split},
            headers=organizer,
        )
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
        assert (
            f'filename="mico-cifar10-{split}-representatives.zip"'
            in (answer.headers["content-disposition"])
        )
        archive = _opened(answer.content)
        names = [f"001-ada-{uploads['strong']}.zip", f"002-bob-{uploads['medium']}.zip"]
        assert archive.namelist() == [*names, "manifest.csv"]
        assert archive.read(names[0]) == arena.zip("cifar10-strong")
        assert archive.read(names[1]) == arena.zip("cifar10-medium")
        rows = _manifest(archive)
        exact = dict(
            arena.session.execute(
                select(Ranking.submission_id, Ranking.ranking_score).where(Ranking.split == split)
            )
            .tuples()
            .all()
        )
        assert [(r["rank"], r["participant"], r["file"]) for r in rows] == [
            ("1", "ada", names[0]),
            ("2", "bob", names[1]),
        ]
        for row, attack in zip(rows, ("strong", "medium"), strict=True):
            assert int(row["submission_id"]) == uploads[attack]
            assert row["sha256"] == hashlib.sha256(arena.zip(f"cifar10-{attack}")).hexdigest()
            assert float(row["ranking_score"]) == exact[uploads[attack]]  # exact, not rounded
    audited = arena.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "submissions.download-representatives")
    ).all()
    assert audited == [
        {"track": "cifar10", "split": "dev", "count": 2},
        {"track": "cifar10", "split": "final", "count": 2},
    ]
    for split in ("train", "<b>x</b>"):
        answer = arena.browser.get(
            f"{API}/tracks/cifar10/representatives.zip", params={"split": split}, headers=organizer
        )
        assert answer.status_code == 404 and "its splits: dev, final" in answer.json()["detail"]
    empty = arena.browser.get(f"{API}/tracks/ddp/representatives.zip", headers=organizer)
    assert _opened(empty.content).namelist() == ["manifest.csv"]
    assert _manifest(_opened(empty.content)) == []
    assert (
        arena.browser.get(f"{API}/tracks/nope/representatives.zip", headers=organizer).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("ada", "ada"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", "participant"),
        ("/", "participant"),
        ("C:\\Windows\\system32", "C-Windows-system32"),
        ("nul\x00byte", "nul-byte"),
        ("Équipe Ωmega", "Equipe-mega"),
        ("ＦＵＬＬ", "FULL"),
        ("evil\u202egpj.exe", "evil-gpj.exe"),
        ("学习小组", "participant"),
        ("a" * 300, "a" * 40),
        ("a..b...c", "a.b.c"),
        (".hidden", "hidden"),
        ("line\nbreak\r", "line-break"),
    ],
)
def test_names_become_safe_file_names(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_hostile_names_never_become_paths_in_the_zip(arena: Arena) -> None:
    ada, ada_headers = arena.participant("ada@example.org")
    bob, bob_headers = arena.participant("bob@example.org")
    team = teams.create_team(arena.session, ada, "placeholder")
    arena.session.commit()
    hostile_team = "../../../etc/cron.d/Équipe ／ Ω"
    arena.session.execute(update(Team).where(Team.id == team.id).values(name=hostile_team))
    arena.session.execute(update(User).where(User.id == bob.id).values(display_name="..\\..\\学"))
    arena.session.commit()
    for headers, attack in ((ada_headers, "strong"), (bob_headers, "weak")):
        assert arena.upload(headers, arena.zip(f"cifar10-{attack}")).status_code == 202
    arena.score_sent()
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    answer = arena.browser.get(f"{API}/tracks/cifar10/representatives.zip", headers=organizer)
    archive = _opened(answer.content)
    for name in archive.namelist():
        assert name.isascii() and "/" not in name and "\\" not in name and ".." not in name
        assert not name.startswith(".")
    entries = archive.namelist()
    assert entries[0].startswith("001-etc-cron.d-Equipe-") and entries[1].startswith(
        "002-participant-"
    )
    rows = _manifest(archive)
    assert [r["participant"] for r in rows] == [hostile_team, "..\\..\\学"]  # kept, in the CSV
    one = arena.browser.get(f"{API}/submissions/{rows[0]['submission_id']}/zip", headers=organizer)
    filename = one.headers["content-disposition"].split('filename="')[1].rstrip('"')
    assert filename.startswith("mico-cifar10-etc-cron.d-Equipe-") and "/" not in filename


def test_a_nul_in_a_name_is_escaped_in_the_manifest() -> None:
    rep = Representative(1, "=cmd\x00|x", 5, "0" * 64, 0.5, utcnow(), "001-cmd-x-5.zip")
    rows = list(csv.reader(io.StringIO(manifest([rep]))))
    assert rows[1][1] == "'=cmd\\u0000|x"  # no NUL, and no formula for a spreadsheet


def test_the_zip_is_streamed_with_one_submission_in_memory_at_a_time(arena: Arena) -> None:
    """30 stored zips of 0.7 MB (21 MB in all): the stream's peak Python memory stays under
    4 MB; the figures for 200 are in benchmarks/downloads.py."""
    user, _ = arena.participant("ada@example.org")
    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()
    phase = arena.session.scalars(select(Phase).where(Phase.name == "Development")).one()
    chosen = []
    for i in range(30):
        data = os.urandom(700 * 1024)
        submission = Submission(
            user_id=user.id,
            track_id=track.id,
            phase_id=phase.id,
            zip_bytes=data,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )
        arena.session.add(submission)
        arena.session.flush()
        chosen.append(
            Representative(
                i + 1, "ada", submission.id, submission.sha256, 0.5, utcnow(), f"{i + 1:03d}.zip"
            )
        )
        arena.session.expunge(submission)
        del data
    arena.session.commit()
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        for chunk in stream_zip(arena.factory, chosen):
            digest.update(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    again = b"".join(stream_zip(arena.factory, chosen))
    assert hashlib.sha256(again).digest() == digest.digest()
    archive = _opened(again)
    assert len(archive.namelist()) == 31
    assert {r["sha256"] for r in _manifest(archive)} == {c.sha256 for c in chosen}
