"""Organizers replace a track's ground truth from a zip: validated whole before anything
changes, every submission of the track scored again in the background with its progress shown,
and no label ever in a page or an answer."""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import registrations
from app.core.config import Settings
from app.core.db import committing, sessions
from app.main import create_app
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.ground_truth import GroundTruth
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.truth_version import TruthVersion
from app.models.user import Role
from app.submissions import pipeline
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena, seed_mico
from tests.fixtures.browser import csrf
from tests.fixtures.services import wait_for

API = "/api/v1/admin/competitions/mico/tracks/cifar10/truth"
PAGE = "/competitions/mico/admin/tracks/cifar10/truth"
BOARD = "/api/v1/competitions/mico/tracks/cifar10/leaderboard"
FIRST = "cifar10/cifar10_hi/dev/model_100/solution.csv"
# A run of labels in any spelling: 0,1,... 0 1 ... 0101... [0, 1, ...]
LABEL_RUN = re.compile(r"(?:[01][,;\s\]\[]{0,2}){20}")
FLIP = bytes.maketrans(b"01", b"10")
MB = 1024 * 1024


def truth_zip(
    demo: Path,
    *,
    prefix: str = "",
    change: Callable[[str, bytes], bytes | None] = lambda name, content: content,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """The demo's cifar10 ground truth (train, dev, final) zipped as organizers would, each
    file passed through `change` (None leaves it out)."""
    buffer = io.BytesIO()
    root = demo / "truth"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((root / "cifar10").rglob("solution.csv")):
            name = path.relative_to(root).as_posix()
            content = change(name, path.read_bytes())
            if content is not None:
                zf.writestr(prefix + name, content)
        for name, content in (extra or {}).items():
            zf.writestr(name, content)
    return buffer.getvalue()


def flipped(_: str, content: bytes) -> bytes:
    """Every member a non-member and the reverse: AUC becomes 1 - AUC."""
    return content.translate(FLIP)


def short_or_not_a_label(name: str, content: bytes) -> bytes:
    """FIRST one value short; in every other file, one value 2."""
    return content.rstrip()[:-2] if name == FIRST else content.replace(b"1", b"2", 1)


def lying_bomb(demo: Path) -> bytes:
    """FIRST as 16 MB of zeros whose headers claim 4000 bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        with zipfile.ZipFile(io.BytesIO(truth_zip(demo))) as source:
            for info in source.infolist():
                if info.filename != FIRST:
                    zf.writestr(info.filename, source.read(info))
        with zf.open(FIRST, "w") as member:
            for _ in range(16):
                member.write(bytes(MB))
    data = bytearray(buffer.getvalue())
    local, central = data.find(FIRST.encode()) - 30, data.rfind(FIRST.encode()) - 46
    struct.pack_into("<I", data, local + 22, 4000)
    struct.pack_into("<I", data, central + 24, 4000)
    return bytes(data)


def declared_bomb(demo: Path) -> bytes:
    """A zip whose directory says one file inflates to 3.75 GB."""
    data = bytearray(truth_zip(demo))
    central = data.rfind(FIRST.encode()) - 46
    assert data[central : central + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, central + 24, 0xF000_0000)
    return bytes(data)


def put(arena: Arena, headers: dict[str, str], data: bytes, name: str = "truth.zip") -> Any:
    return arena.browser.put(API, headers=headers, files={"file": (name, data, "application/zip")})


def organizer(arena: Arena) -> dict[str, str]:
    return arena.participant("org@example.org", role=Role.ORGANIZER, register=False)[1]


def scores(session: Session) -> dict[tuple[int, str, int], dict[str, float]]:
    """Every stored metric, by (submission, split, scenario)."""
    session.expire_all()
    return {
        (s.submission_id, s.split, s.scenario_id): dict(s.metrics)
        for s in session.scalars(select(Score))
    }


def stored_labels(session: Session) -> dict[tuple[int, str], bytes]:
    session.expire_all()
    return {
        (row.scenario_id, row.split): row.packed_labels
        for row in session.scalars(select(GroundTruth))
    }


def no_labels(text: str, demo: Path) -> None:
    """Neither a run of labels nor the start of a demo solution file is in `text`."""
    assert not LABEL_RUN.search(text), LABEL_RUN.search(text)
    head = (demo / "truth" / FIRST).read_text()[:40]
    assert head not in text and head.translate(str.maketrans("01", "10")) not in text


def test_replacing_the_truth_rescores_every_submission_of_the_track(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    strong = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    weak = arena.upload(bob, arena.zip("cifar10-weak")).json()["id"]
    other = arena.upload(ada, arena.zip("ddp-weak"), track="ddp").json()["id"]
    assert arena.score_sent() == ["scored"] * 3
    before = scores(arena.session)
    org = organizer(arena)
    status = arena.browser.get(API, headers=org).json()
    assert status["progress"] is None and status["required_splits"] == ["dev", "final"]
    assert [(s["scenario"], s["split"], s["models"], s["members"]) for s in status["splits"]][
        :2
    ] == [("cifar10_hi", "dev", 50, 0.5), ("cifar10_hi", "final", 50, 0.5)]
    old_digests = status["digests"]

    # The track folder one level down, as a zipped reference_data/ folder holds it.
    answer = put(arena, org, truth_zip(arena.demo, prefix="reference_data/", change=flipped))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["changed"] is True and body["digests"] != old_digests
    assert body["progress"] | {"replaced_at": None} == {
        "replaced_at": None,
        "replaced_by": "org",
        "submissions": 2,
        "rescored": 0,
        "failed": 0,
        "waiting": 2,
        "done": False,
        "stalled": False,
        "digests_before": old_digests,
        "digests_after": body["digests"],
    }
    no_labels(answer.text, arena.demo)
    assert sorted(arena.sent) == [strong, weak]  # sent once committed; ddp untouched
    # Back to queued: off the leaderboard until scored again.
    assert arena.browser.get(BOARD).json()["entries"] == []

    assert arena.score_sent() == ["scored", "scored"]
    progress = arena.browser.get(API, headers=org).json()["progress"]
    assert (progress["rescored"], progress["submissions"], progress["done"]) == (2, 2, True)
    after = scores(arena.session)
    for key, metrics in before.items():
        if key[0] == other:
            assert after[key] == metrics
            continue
        assert after[key]["AUC"] == pytest.approx(1 - metrics["AUC"], abs=1e-9), key
    assert [e["participant"] for e in arena.browser.get(BOARD).json()["entries"]] == [
        "bob",  # the weak attack is now the better one, the strong the worse
        "ada",
    ]
    export = arena.browser.get(
        "/api/v1/admin/competitions/mico/tracks/cifar10/export", headers=org
    ).json()
    assert {r["split"]: r["ground_truth_sha256"] for r in export} == body["digests"]
    (entry,) = arena.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "truth.replace")
    ).all()
    assert entry.detail["before"] == old_digests and entry.detail["after"] == body["digests"]
    assert entry.detail["rescored"] == 2
    no_labels(str(entry.detail), arena.demo)


def test_the_same_labels_again_change_nothing(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    arena.upload(ada, arena.zip("cifar10-medium"))
    arena.score_sent()
    org = organizer(arena)
    answer = put(arena, org, truth_zip(arena.demo))
    assert answer.status_code == 200 and answer.json()["changed"] is False
    assert answer.json()["progress"] is None and arena.sent == []
    assert arena.session.scalars(select(TruthVersion)).all() == []


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda demo: truth_zip(
                demo,
                change=lambda name, c: None if "cifar10_lo/" in name else c,
                extra={"../../etc/cron.d/evil": b"* * * * * root sh"},
            ),
            [
                "cifar10/cifar10_lo/: scenario missing",
                "../../etc/cron.d/evil: has an absolute or '..' path",
            ],
        ),
        (
            lambda demo: truth_zip(demo, change=short_or_not_a_label),
            [f"{FIRST}: 199 values, expected 200", "is 2; a label is 0 (non-member) or 1"],
        ),
        (
            lambda demo: truth_zip(
                demo, change=lambda name, c: None if "/final/model_177/" in name else c
            ),
            ["cifar10/cifar10_hi/final/: 1 of 50 models missing: model_177"],
        ),
        (
            lambda demo: truth_zip(
                demo, extra={"ddp/cifar10_ddp/dev/model_100/solution.csv": b"0,1"}
            ),
            ["ddp/cifar10_ddp/: is a scenario of track ddp, not of cifar10"],
        ),
        (lying_bomb, [f"{FIRST}: inflates to more bytes than the zip declares (a zip bomb?)"]),
        (declared_bomb, ["over the limit of 512.0 MB (a zip bomb?)"]),
        (lambda demo: b"Rar!\x1a\x07\x01\x00" + bytes(64), ["is a RAR archive, not a zip"]),
    ],
    ids=[
        "missing-scenario-and-traversal",
        "wrong-length-and-value",
        "missing-model",
        "other-track",
        "lying-bomb",
        "declared-bomb",
        "not-a-zip",
    ],
)
def test_an_invalid_zip_lists_every_problem_and_changes_nothing(
    arena: Arena, make: Callable[[Path], bytes], expected: list[str]
) -> None:
    _, ada = arena.participant("ada@example.org")
    arena.upload(ada, arena.zip("cifar10-strong"))
    arena.score_sent()
    labels, metrics = stored_labels(arena.session), scores(arena.session)
    org = organizer(arena)
    digests = arena.browser.get(API, headers=org).json()["digests"]
    answer = put(arena, org, make(arena.demo))
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert "nothing was changed" in body["detail"]
    for problem in expected:
        assert any(problem in e for e in body["errors"]), (problem, body["errors"])
    no_labels(answer.text, arena.demo)
    assert arena.browser.get(API, headers=org).json()["digests"] == digests
    assert stored_labels(arena.session) == labels and scores(arena.session) == metrics
    assert arena.sent == [] and arena.session.scalars(select(TruthVersion)).all() == []
    statuses = set(arena.session.scalars(select(Submission.status)))
    assert statuses == {SubmissionStatus.SCORED}
    assert not arena.session.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith("truth."))
    ).all()


def test_an_upload_over_the_limit_is_a_413_that_says_the_limit(arena: Arena) -> None:
    org = organizer(arena)
    settings: Settings = arena.browser.app.state.settings
    arena.browser.app.state.settings = settings.model_copy(update={"truth_upload_max_bytes": MB})
    padded = truth_zip(arena.demo, extra={"pad.bin": os.urandom(MB + MB // 2)})
    answer = put(arena, org, padded)
    assert answer.status_code == 413
    assert "at most 1.0 MB" in answer.json()["detail"], answer.json()

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it comes
        yield b"--x\r\nContent-Disposition: form-data; name=file; filename=a.zip\r\n\r\n"
        for _ in range(20):
            yield bytes(128 * 1024)

    streamed = arena.browser.put(
        API,
        content=chunks(),
        headers={**org, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["detail"].startswith(
        "the upload is larger; a ground-truth zip may be at most 1.0 MB"
    )
    raw = arena.browser.put(API, content=b"PK", headers={**org, "Content-Type": "application/zip"})
    assert raw.status_code == 422 and "multipart" in raw.json()["detail"]
    assert arena.session.scalars(select(TruthVersion)).all() == []


def test_the_page_replaces_the_truth_and_follows_the_rescoring(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.score_sent()
    organizer(arena)
    _sign_in(arena, "org@example.org")
    page = arena.browser.get(PAGE)
    assert page.status_code == 200
    assert "cifar10/{scenario}/{split}/model_{id}/solution.csv" in page.text
    assert 'id="truth-cifar10_hi-dev"' in page.text and "50 × 200" in page.text
    assert "has not been replaced" in page.text and "all 1 submission of cifar10" in page.text
    no_labels(page.text, arena.demo)
    form = re.search(r'<form id="upload"[^>]*>', page.text)
    assert form and "Replace the ground truth of cifar10?" in form.group(0)  # asks first
    token = csrf(arena.browser, PAGE)

    def send(data: bytes, name: str = "truth.zip", **form: str) -> Any:
        return arena.browser.post(
            PAGE,
            data={"csrf_token": token, **form},
            files={"file": (name, data, "application/zip")},
            follow_redirects=False,
        )

    unconfirmed = send(truth_zip(arena.demo, change=flipped))
    assert unconfirmed.status_code == 422 and "tick the box" in unconfirmed.text
    hostile = send(
        b"<script>alert(1)</script>", name="<script>alert(1)</script>.zip", confirm="yes"
    )
    assert hostile.status_code == 422
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.zip: is not a zip archive" in hostile.text
    assert "<script>alert(1)" not in hostile.text
    forged = arena.browser.post(
        PAGE,
        data={"csrf_token": "forged", "confirm": "yes"},
        files={"file": ("t.zip", truth_zip(arena.demo, change=flipped), "application/zip")},
    )
    assert forged.status_code == 403 and arena.sent == []

    done = send(truth_zip(arena.demo, change=flipped), confirm="yes")
    assert done.status_code == 303 and done.headers["location"] == PAGE
    shown = arena.browser.get(done.headers["location"]).text
    assert "The ground truth is replaced" in shown and "rescored 0 of 1" in shown
    assert "The ground truth is replaced" not in arena.browser.get(PAGE).text  # said once
    assert 'data-waiting="1"' in shown and "progress_only=1" in shown
    no_labels(shown, arena.demo)
    assert arena.sent == [submission]
    assert arena.score_sent() == ["scored"]
    panel = arena.browser.get(PAGE, params={"progress_only": 1}).text
    assert "rescored 1 of 1" in panel and 'data-waiting="0"' in panel and "<html" not in panel
    script = arena.browser.post(
        PAGE,
        data={"csrf_token": token, "confirm": "yes"},
        files={"file": ("t.zip", truth_zip(arena.demo), "application/zip")},
        headers={"Accept": "application/json"},
    )
    assert script.status_code == 202 and script.json()["url"] == PAGE
    assert "The ground truth is replaced" in arena.browser.get(PAGE).text  # shown on opening


def test_progress_stops_honestly_while_no_worker_scores(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    first = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.upload(ada, arena.zip("cifar10-weak"))
    arena.score_sent()
    org = organizer(arena)
    assert put(arena, org, truth_zip(arena.demo, change=flipped)).status_code == 202
    assert pipeline.score_submission(arena.factory, first) == "scored"  # then the worker dies
    arena.sent.clear()
    progress = arena.browser.get(API, headers=org).json()["progress"]
    assert (progress["rescored"], progress["waiting"], progress["stalled"]) == (1, 1, False)
    long_ago = utcnow() - timedelta(minutes=10)
    arena.session.execute(update(TruthVersion).values(created_at=long_ago))
    arena.session.execute(
        update(Submission).where(Submission.id == first).values(scored_at=long_ago)
    )
    arena.session.commit()
    progress = arena.browser.get(API, headers=org).json()["progress"]
    assert (progress["rescored"], progress["waiting"], progress["stalled"]) == (1, 1, True)
    _sign_in(arena, "org@example.org")
    panel = arena.browser.get(PAGE, params={"progress_only": 1}).text
    assert "rescored 1 of 2" in panel and "No submission has finished for over two minutes" in panel


def test_scores_of_replaced_labels_are_never_stored(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truth replaced while a worker scores a submission: that worker's result is dropped and
    the submission is scored against the new labels."""
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.score_sent()
    before = scores(arena.session)
    arena.browser.post(
        f"/api/v1/admin/competitions/mico/submissions/{submission}/rescore",
        headers=(org := organizer(arena)),
    )
    read, replaced = pipeline.read_submission, []

    def replaced_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not replaced:
            replaced.append(put(arena, org, truth_zip(arena.demo, change=flipped)).status_code)
        return read(*args, **kwargs)

    monkeypatch.setattr(pipeline, "read_submission", replaced_meanwhile)
    assert arena.score_sent() == ["skipped", "scored"] and replaced == [202]
    after = scores(arena.session)
    assert all(after[k]["AUC"] == pytest.approx(1 - m["AUC"], abs=1e-9) for k, m in before.items())


@pytest.fixture
def embedded(sqlite: Engine, demo: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The server scoring in its own threads (no Redis, no worker), with an organizer."""
    _, participant = seed_mico(sessions(sqlite), demo)
    with committing(sessions(sqlite)()) as session:
        org = auth.create_user(session, "org@example.org", "x" * 16, role=Role.ORGANIZER)
        registrations.add_organizer(
            session, registrations.competition_by_slug(session, "mico"), org
        )
        token = auth.create_token(session, org)[1]
    app = create_app(Settings(database_url=str(sqlite.url), redis_url=None), sessions(sqlite))
    with TestClient(app, base_url="https://testserver") as browser:
        for attack in ("strong", "medium", "weak"):
            browser.post(
                "/api/v1/competitions/mico/tracks/cifar10/submissions",
                headers=participant,
                files={
                    "file": ("p.zip", (demo / "submissions" / f"cifar10-{attack}.zip").read_bytes())
                },
            )
        yield browser, {"Authorization": f"Bearer {token}"}


def test_the_rescoring_runs_in_the_background_and_its_progress_reaches_the_end(
    embedded: tuple[TestClient, dict[str, str]], demo: Path, sqlite: Engine
) -> None:
    browser, org = embedded

    def progress() -> Any:
        return browser.get(API, headers=org).json()["progress"]

    def all_scored() -> bool:
        with Session(sqlite) as session:
            return set(session.scalars(select(Submission.status))) == {SubmissionStatus.SCORED}

    wait_for(all_scored, 20, "the uploads scored")
    answer = browser.put(
        API, headers=org, files={"file": ("t.zip", truth_zip(demo, change=flipped))}
    )
    assert answer.status_code == 202 and answer.json()["progress"]["submissions"] == 3
    wait_for(lambda: progress()["done"], 20, "the rescoring done")
    assert progress() | {"replaced_at": None, "digests_before": {}, "digests_after": {}} == {
        "replaced_at": None,
        "replaced_by": "org",
        "submissions": 3,
        "rescored": 3,
        "failed": 0,
        "waiting": 0,
        "done": True,
        "stalled": False,
        "digests_before": {},
        "digests_after": {},
    }
