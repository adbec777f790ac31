"""The participants' client, run as a participant runs it: the installed `mia-arena` against a
real server (uvicorn on a SQLite file, scoring in its own threads), with a home of its own."""

from __future__ import annotations

import io
import os
import pty
import re
import select as selectors
import stat
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import registrations
from app.competitions.service import import_mico
from app.core.config import Settings
from app.core.db import committing, sessions
from app.core.sizes import size_text
from app.main import create_app
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import Phase
from app.models.scenario import Scenario
from app.models.submission import Submission
from app.models.track import Track
from app.models.user import Role, User
from app.scoring.definition import MICO, Definition
from app.scoring.demo import submission_zip
from tests.fixtures.browser import PASSWORD
from tests.fixtures.database import migrated
from tests.fixtures.services import free_port, wait_for

CLI = str(Path(sys.executable).with_name("mia-arena"))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but tab and newline
COMPETITIONS = ("mico", "small", "daily", "broken", "final")


class Recorded:
    """The app, keeping the method and path of every HTTP request it is sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@dataclass
class Server:
    url: str
    engine: Engine
    database_url: str
    demo: Path
    recorded: Recorded

    def organizer(self, email: str, slug: str) -> dict[str, str]:
        """A new organizer of one competition; their API headers."""
        with committing(Session(self.engine)) as session:
            user = auth.create_user(session, email, PASSWORD, role=Role.ORGANIZER)
            competition = registrations.competition_by_slug(session, slug)
            registrations.add_organizer(session, competition, user)
            return {"Authorization": f"Bearer {auth.create_token(session, user)[1]}"}

    def account(self, email: str, *, register: bool = True) -> str:
        """A new participant (registered to every competition unless told not to); a token."""
        with committing(Session(self.engine)) as session:
            user = auth.create_user(session, email, PASSWORD, role=Role.PARTICIPANT)
            if register:
                for slug in COMPETITIONS:
                    competition = registrations.competition_by_slug(session, slug)
                    registrations.register(session, competition, user, accept_terms=True)
            return auth.create_token(session, user)[1]

    def count(self, email: str) -> int:
        """How many submissions the account has made."""
        with Session(self.engine) as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Submission)
                    .join(User)
                    .where(User.email == email)
                )
                or 0
            )


def _seed(engine: Engine, truth: Path) -> None:
    """MICO five times: as it is, with a 100 KB size limit, one upload a day, without the
    labels of one scenario's final split (every upload fails), and one to open Final on."""
    with committing(Session(engine)) as session:
        for slug in COMPETITIONS:
            import_mico(session, truth, slug=slug)
        ids = {c.slug: c.id for c in session.scalars(select(Competition))}
        session.execute(
            update(Phase).where(Phase.competition_id == ids["small"]).values(max_bytes=100_000)
        )
        session.execute(
            update(Phase).where(Phase.competition_id == ids["daily"]).values(max_per_day=1)
        )
        labels = (
            select(GroundTruth)
            .join(Scenario, Scenario.id == GroundTruth.scenario_id)
            .join(Track, Track.id == Scenario.track_id)
            .where(
                Track.competition_id == ids["broken"],
                Scenario.name == "cifar10_hi",
                GroundTruth.split == "final",
            )
        )
        for row in session.scalars(labels):
            session.delete(row)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo: Path) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("client-server")
    database_url = f"sqlite:///{folder / 'arena.sqlite3'}"
    engine = migrated(database_url)
    _seed(engine, demo / "truth")
    settings = Settings(database_url=database_url, redis_url=None, leaderboard_cache_seconds=0)
    port = free_port()
    recorded = Recorded(create_app(settings, sessions(engine)))
    config = uvicorn.Config(recorded, host="127.0.0.1", port=port, log_level="warning")
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    wait_for(lambda: web.started, 30, "the server listening")
    try:
        yield Server(f"http://127.0.0.1:{port}", engine, database_url, demo, recorded)
    finally:
        web.should_exit = True
        thread.join(timeout=30)
        engine.dispose()


def run(
    home: Path, *args: object, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The console script with a home of its own, no inherited MIA_* or database variables."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MIA_") and k not in ("DATABASE_URL", "REDIS_URL", "XDG_CONFIG_HOME")
    }
    result = subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        env={**keep, "HOME": str(home), **env},
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _env(server: Server, token: str) -> dict[str, str]:
    return {"MIA_SERVER": server.url, "MIA_TOKEN": token}


def _plain(result: subprocess.CompletedProcess[str]) -> None:
    """Output for a log: no carriage return, escape sequence or other control character."""
    assert not CONTROL.search(result.stdout + result.stderr), repr(result.stdout + result.stderr)


def test_login_checks_the_token_and_saves_it_for_its_owner_alone(
    server: Server, tmp_path: Path
) -> None:
    token = server.account("login@example.org")
    refused = run(tmp_path, "login", "--server", server.url, "--token-stdin", stdin="mia_wrong\n")
    assert refused.returncode == 1
    assert f"{server.url} refused this token" in refused.stderr
    assert "nothing was saved" in refused.stderr
    assert not (tmp_path / ".config" / "mia-arena" / "config.toml").exists()

    result = run(tmp_path, "login", "--server", server.url + "/", "--token-stdin", stdin=token)
    assert result.returncode == 0, result.stderr
    assert f"logged in to {server.url} as login@example.org (participant)" in result.stdout
    assert token not in result.stdout + result.stderr
    path = tmp_path / ".config" / "mia-arena" / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text()) == {"server": server.url, "token": token}

    # Later commands find both; the saved token goes to no other server.
    listed = run(tmp_path, "submissions", "--track", "cifar10")
    assert listed.returncode == 0, listed.stderr
    assert "no submissions to mico/cifar10 yet" in listed.stdout
    elsewhere = run(tmp_path, "submissions", "--track", "cifar10", "--server", "127.0.0.1:9")
    assert elsewhere.returncode == 1
    assert "no API token for https://127.0.0.1:9" in elsewhere.stderr

    # XDG_CONFIG_HOME is where the file goes when set.
    xdg = tmp_path / "xdg"
    again = run(
        tmp_path,
        "login",
        "--token-stdin",
        stdin=token,
        XDG_CONFIG_HOME=str(xdg),
        MIA_SERVER=server.url,
    )
    assert again.returncode == 0, again.stderr
    assert (xdg / "mia-arena" / "config.toml").exists()


def test_login_without_a_terminal_says_to_pipe_the_token(tmp_path: Path) -> None:
    """No terminal to type a token in (stdin a pipe, as in CI): a clear usage error, no
    GetPassWarning traceback, nothing saved."""
    result = run(tmp_path, "login", "--server", "https://127.0.0.1:9", stdin="")
    assert result.returncode == 2
    assert "GetPassWarning" not in result.stderr
    assert "--token-stdin" in result.stderr and "MIA_TOKEN" in result.stderr
    assert not (tmp_path / ".config" / "mia-arena" / "config.toml").exists()


def _table(stdout: str) -> dict[str, dict[str, list[float]]]:
    """Per split, each scenario's printed numbers; the ranking score under `ranking`."""
    tables: dict[str, dict[str, list[float]]] = {}
    split = ""
    for line in stdout.splitlines():
        title = re.match(r"cifar10, (\w+) split", line)
        if title:
            split = title.group(1)
            tables[split] = {}
        elif line.startswith("cifar10_"):
            name, *numbers = line.split()
            tables[split][name] = [float(n) for n in numbers]
        elif line.startswith("ranking score"):
            tables[split]["ranking"] = [float(line.rsplit(" ", 1)[1])]
    return tables


def test_submit_validates_uploads_waits_and_prints_the_scores_the_api_shows(
    server: Server, tmp_path: Path
) -> None:
    token = server.account("ada@example.org")
    zip_path = server.demo / "submissions" / "cifar10-strong.zip"
    result = run(
        tmp_path,
        "submit",
        zip_path,
        "--track",
        "cifar10",
        "--description",
        "strong one",
        **_env(server, token),
    )
    assert result.returncode == 0, result.stderr
    _plain(result)
    assert "uploading cifar10-strong.zip" in result.stderr and "scored" in result.stderr
    assert f"({size_text(zip_path.stat().st_size)}) ..." in result.stderr  # "674 KB", not "0.66 MB"
    link = re.search(r"submission page: (\S+)", result.stdout)
    assert link and re.fullmatch(re.escape(server.url) + r"/submissions/\d+", link.group(1))
    submission_id = int(link.group(1).rsplit("/", 1)[1])
    shown = httpx.get(
        f"{server.url}/api/v1/submissions/{submission_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert shown["status"] == "scored" and shown["description"] == "strong one"
    printed = _table(result.stdout)
    assert set(printed) == set(shown["scores"]) == {"dev"}  # final is never shown
    keys = ("TPR_FPR_1000", "TPR_FPR_100", "TPR_FPR_10", "AUC", "MIA", "accuracy")
    for name, metrics in shown["scores"]["dev"]["scenarios"].items():
        assert printed["dev"][name] == [round(metrics[k], 4) for k in keys]
    assert printed["dev"]["ranking"] == [round(shown["scores"]["dev"]["ranking_score"], 4)]

    # Listed with its score; an escape sequence in a description is shown, not obeyed.
    hostile = "<script>alert(1)</script> \x1b[2J\x1b[31mred"
    second = run(
        tmp_path,
        "submit",
        server.demo / "submissions" / "cifar10-weak.zip",
        "--track",
        "cifar10",
        "--no-wait",
        "--description",
        hostile,
        **_env(server, token),
    )
    assert second.returncode == 0, second.stderr
    assert "stored and queued for scoring" in second.stdout
    assert "ranking score" not in second.stdout  # --no-wait: no waiting, no table
    listed = run(
        tmp_path, "submissions", "--track", "cifar10", "--limit", "1", **_env(server, token)
    )
    assert listed.returncode == 0, listed.stderr
    _plain(listed)
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "uploaded", "status"]
    assert lines[0].endswith("description")
    assert "<script>alert(1)</script> \\x1b[2J\\x1b[31mred" in lines[1]
    assert "the latest 1 of 2; --limit 2 lists them all" in listed.stdout
    every = run(tmp_path, "submissions", "--track", "cifar10", **_env(server, token))
    assert every.stdout.splitlines()[0].split() == [
        "id",
        "uploaded",
        "status",
        "dev",
        "score",
        "description",
    ]
    row = next(line for line in every.stdout.splitlines() if line.startswith(str(submission_id)))
    assert "scored" in row and f"{shown['scores']['dev']['ranking_score']:.4f}" in row
    assert "strong one" in row and "latest" not in every.stdout


def _without_one_model(source: Path, target: Path) -> Path:
    """A copy of a submission zip missing one model's predictions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(buffer, "w") as new:
        for item in old.infolist():
            if "cifar10_hi/dev/model_101/" not in item.filename:
                new.writestr(item, old.read(item))
    target.write_bytes(buffer.getvalue())
    return target


def test_an_invalid_zip_is_refused_here_and_nothing_is_sent(server: Server, tmp_path: Path) -> None:
    token = server.account("bad@example.org")
    broken = _without_one_model(
        server.demo / "submissions" / "cifar10-weak.zip", tmp_path / "b.zip"
    )
    result = run(tmp_path, "submit", broken, "--track", "cifar10", **_env(server, token))
    assert result.returncode == 1
    assert "is not a valid submission (nothing was sent): 1 problem" in result.stderr
    assert "model_101" in result.stderr
    assert server.count("bad@example.org") == 0
    # Also without any server: checked before anything goes out.
    offline = run(
        tmp_path,
        "submit",
        broken,
        "--track",
        "cifar10",
        MIA_TOKEN="t",
        MIA_SERVER="http://127.0.0.1:9",
    )
    assert offline.returncode == 1 and "model_101" in offline.stderr


def test_refusals_say_why_and_what_to_do(server: Server, tmp_path: Path) -> None:
    token = server.account("bo@example.org")
    stranger = server.account("stranger@example.org", register=False)
    zip_path = server.demo / "submissions" / "cifar10-medium.zip"

    def submit(*extra: str, token: str = token) -> subprocess.CompletedProcess[str]:
        result = run(
            tmp_path, "submit", zip_path, "--track", "cifar10", *extra, **_env(server, token)
        )
        _plain(result)
        return result

    bad = submit(token="mia_not-a-real-token")
    assert bad.returncode == 1
    assert (
        f"your token was refused: run `mia-arena login --server {server.url}` or set MIA_TOKEN"
        in bad.stderr
    )
    unregistered = submit(token=stranger)
    assert unregistered.returncode == 1
    assert "register to MICO" in unregistered.stderr and "/competitions/mico" in unregistered.stderr
    missing = submit("--competition", "nope")
    assert missing.returncode == 1 and "there is no competition 'nope'" in missing.stderr
    sst2 = tmp_path / "sst2.zip"  # valid, for a MICO track this server does not have
    sst2.write_bytes(submission_zip(MICO.track("sst2"), "random", seed=1))
    no_track = run(tmp_path, "submit", sst2, "--track", "sst2", **_env(server, token))
    assert no_track.returncode == 1
    assert "has no track 'sst2'; its tracks: cifar10, ddp" in no_track.stderr
    escaping = submit("--competition", "../admin")  # stays one path segment
    assert escaping.returncode == 1 and "has no such address" in escaping.stderr
    size = zip_path.stat().st_size
    large = submit("--competition", "small")
    assert large.returncode == 1
    assert f"too large: the file is {size:,} bytes" in large.stderr
    assert "takes at most 97.7 KB" in large.stderr
    long = submit("--description", "x" * 2500)
    assert long.returncode == 1 and "at most 2000" in long.stderr

    assert submit("--competition", "daily", "--no-wait").returncode == 0
    limited = submit("--competition", "daily")
    assert limited.returncode == 1
    assert "you have made 1 of 1 submissions today" in limited.stderr
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert f"you can submit again at {tomorrow:%Y-%m-%d} 00:00 UTC (" in limited.stderr
    assert server.count("bo@example.org") == 1

    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = run(
        tmp_path, "submit", zip_path, "--track", "cifar10", MIA_TOKEN=token, MIA_SERVER=closed
    )
    assert unreachable.returncode == 2
    assert f"could not reach {closed}: " in unreachable.stderr
    assert "refused" in unreachable.stderr.lower()
    tls = server.url.replace("http://", "https://")  # a plain HTTP server: no TLS handshake
    untrusted = run(tmp_path, "submissions", "--track", "cifar10", MIA_TOKEN=token, MIA_SERVER=tls)
    assert untrusted.returncode == 2 and f"could not reach {tls}: " in untrusted.stderr


def test_a_failed_submission_prints_the_servers_reason_and_rescore_still_works(
    server: Server, tmp_path: Path
) -> None:
    token = server.account("cy@example.org")
    zip_path = server.demo / "submissions" / "cifar10-weak.zip"
    result = run(
        tmp_path,
        "submit",
        zip_path,
        "--track",
        "cifar10",
        "--competition",
        "broken",
        **_env(server, token),
    )
    assert result.returncode == 1
    assert re.search(r"submission \d+ failed: .*cifar10_hi \(final\)", result.stderr)
    assert f"{server.url}/submissions/" in result.stderr

    # The organizers' command under the same group name is unchanged.
    rescored = run(tmp_path, "submissions", "rescore", "broken", DATABASE_URL=server.database_url)
    assert rescored.returncode == 0, rescored.stderr
    assert "1 submissions of broken queued again and scored" in rescored.stdout
    mixed = run(tmp_path, "submissions", "--track", "cifar10", "rescore", "broken")
    assert mixed.returncode == 2 and "without a command" in mixed.stderr
    helped = run(tmp_path, "submissions")
    assert helped.returncode == 0 and "rescore" in helped.stdout and "--track" in helped.stdout


def test_without_a_server_or_token_it_says_how_to_get_them(tmp_path: Path, demo: Path) -> None:
    zip_path = demo / "submissions" / "cifar10-weak.zip"
    nothing = run(tmp_path, "submit", zip_path, "--track", "cifar10")
    assert nothing.returncode == 1 and "run `mia-arena login --server URL` once" in nothing.stderr
    tokenless = run(tmp_path, "submissions", "--track", "cifar10", "--server", "arena.example.org")
    assert tokenless.returncode == 1
    assert "no API token for https://arena.example.org" in tokenless.stderr


def test_on_a_terminal_the_upload_shows_a_bar_and_the_wait_a_spinner(
    server: Server, tmp_path: Path
) -> None:
    token = server.account("tty@example.org")
    zip_path = server.demo / "submissions" / "cifar10-random.zip"
    main, child = pty.openpty()
    keep = {k: v for k, v in os.environ.items() if not k.startswith("MIA_")}
    process = subprocess.Popen(
        [CLI, "submit", str(zip_path), "--track", "cifar10"],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**keep, "HOME": str(tmp_path), **_env(server, token)},
    )
    os.close(child)
    said = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not selectors.select([main], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the command has ended
            break
        if not chunk:
            break
        said += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0, said
    text = said.decode()
    assert "uploading cifar10-random.zip" in text and "100%" in text  # the bar, filled
    assert "\r\x1b[K" in text  # the spinner's line, cleared before the table
    assert "cifar10, dev split" in text and "submission page: " in text


def test_a_disqualified_submission_is_listed_as_disqualified_with_the_reason(
    server: Server, tmp_path: Path
) -> None:
    token = server.account("dq@example.org")
    ids = []
    for attack in ("strong", "weak"):
        zip_path = server.demo / "submissions" / f"cifar10-{attack}.zip"
        sent = run(tmp_path, "submit", zip_path, "--track", "cifar10", **_env(server, token))
        assert sent.returncode == 0, sent.stderr
        ids.append(int(re.findall(r"submission (\d+) stored", sent.stdout)[0]))
    cheat, fair = ids
    organizer = server.organizer("dq-org@example.org", "mico")
    answer = httpx.post(
        f"{server.url}/api/v1/admin/competitions/mico/submissions/{cheat}/disqualify",
        json={"reason": "trained on the labels"},
        headers=organizer,
    )
    assert answer.status_code == 200, answer.text

    listed = run(tmp_path, "submissions", "--track", "cifar10", **_env(server, token))
    assert listed.returncode == 0, listed.stderr
    _plain(listed)
    rows = {int(line.split()[0]): line for line in listed.stdout.splitlines()[1:3]}
    assert re.search(r" UTC  disqualified  ", rows[cheat]), rows[cheat]
    assert re.search(r" UTC  scored  ", rows[fair]) and "disqualified" not in rows[fair]
    assert f"submission {cheat} is disqualified: trained on the labels" in listed.stdout


def test_during_the_final_phase_submit_says_so_and_sends_nothing(
    server: Server, tmp_path: Path
) -> None:
    token = server.account("late@example.org")
    organizer = server.organizer("final-org@example.org", "final")
    admin = f"{server.url}/api/v1/admin/competitions/final"
    phases = httpx.get(f"{admin}/phases", headers=organizer).json()
    (final,) = [p["id"] for p in phases if p["name"] == "Final"]
    opened = httpx.post(f"{admin}/phases/{final}/open", headers=organizer)
    assert opened.status_code == 200, opened.text

    seen = len(server.recorded.requests)
    result = run(
        tmp_path,
        "submit",
        server.demo / "submissions" / "cifar10-strong.zip",
        "--track",
        "cifar10",
        "--competition",
        "final",
        **_env(server, token),
    )
    assert result.returncode == 1
    assert (
        "error: Final phase: uploads are closed; your latest Development submission is ranked"
        " (nothing was sent)" in result.stderr
    )
    assert "no phase is scheduled" not in result.stderr and "uploading" not in result.stderr
    asked = server.recorded.requests[seen:]
    assert asked == [("GET", "/api/v1/competitions/final/tracks/cifar10/uploads")]
    assert server.count("late@example.org") == 0


def test_validate_uses_the_servers_definition_of_the_competition(
    server: Server, tmp_path: Path
) -> None:
    """`validate --server URL --competition SLUG` fetches the competition's public definition
    (no token; tracks, splits and files, never a label) and checks the zip with it offline."""
    public = httpx.get(f"{server.url}/api/v1/competitions/mico/definition")
    assert public.status_code == 200
    served = Definition.from_dict(public.json())
    assert {t.name for t in served.tracks} == {"cifar10", "ddp"}  # the server's, not MICO's 4
    assert served.split("dev").describe() == MICO.split("dev").describe()
    assert "solution" not in public.text.replace("solution.csv", "")  # a layout, no labels

    good = server.demo / "submissions" / "cifar10-strong.zip"
    result = run(tmp_path, "validate", good, "--server", server.url, "--competition", "mico")
    assert result.returncode == 0, result.stderr
    assert "valid cifar10 submission, 300 prediction files" in result.stdout

    bad = tmp_path / "short.zip"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as dst:
        for item in source.infolist()[1:]:  # one model's file left out
            dst.writestr(item, source.read(item))
    refused = run(tmp_path, "validate", bad, "--server", server.url)
    assert refused.returncode == 1 and "1 of 50 models missing" in refused.stderr

    unknown = run(tmp_path, "validate", good, "--server", server.url, "--competition", "nope")
    assert unknown.returncode == 1 and "nope" in unknown.stderr
    both = run(tmp_path, "validate", good, "--server", server.url, "--definition", good)
    assert both.returncode == 2 and "not both" in both.stderr
    gone = run(tmp_path, "validate", good, "--server", "http://127.0.0.1:9")
    assert gone.returncode == 2 and "could not reach" in gone.stderr
