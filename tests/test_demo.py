"""`mia-arena demo`: the README's first command. It makes MICO on a SQLite file with accounts
and scored submissions, prints the accounts and the URL, serves; a second run starts from what
the first made."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx

from tests.fixtures.services import free_port, wait_for

CLI = str(Path(sys.executable).with_name("mia-arena"))
TRACKS = ("cifar10", "ddp", "purchase100", "sst2")


def _run_demo(folder: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    """The demo server started; its URL and what it printed until ready, which it says only
    once the port takes connections: one is made the moment the line is read."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    server = subprocess.Popen(
        [CLI, "demo", "--dir", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    said = []
    assert server.stdout is not None
    for line in server.stdout:
        said.append(line)
        if "open http://" in line:
            break
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError as exc:
        raise AssertionError(f"said ready but port {port} takes no connection: {exc}") from None
    assert said[-1].startswith("ready in "), said  # the last line before serving
    url = f"http://127.0.0.1:{port}"
    assert any(url in line for line in said), said

    def up() -> bool:
        try:
            return httpx.get(url + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 30, "the demo server answering")
    return server, url, said


def _stop(server: subprocess.Popen[str]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


def test_the_demo_serves_mico_with_leaderboards_and_starts_again(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    server, url, said = _run_demo(folder)
    try:
        accounts = dict(re.findall(r"^\s+(\S+@demo\.test)\s+(\S+)\s+\(", "".join(said), re.M))
        assert set(accounts) == {
            "organizer@demo.test",
            *(f"{n}@demo.test" for n in ("alice", "bob", "carol", "dave")),
        }
        for track in TRACKS:
            board = httpx.get(f"{url}/api/v1/competitions/mico/tracks/{track}/leaderboard").json()
            names = [e["participant"] for e in board["entries"]]
            assert len(names) >= 3 and names[0] == "alice", (track, names)  # her strong attack

        def intervals() -> bool:
            answer = httpx.get(f"{url}/api/v1/competitions/mico/tracks/ddp/leaderboard")
            return all(e["ci_low"] is not None for e in answer.json()["entries"])

        wait_for(intervals, 60, "the intervals, computed while the demo serves")
        page = httpx.get(f"{url}/competitions/mico/tracks/cifar10/leaderboard")
        assert page.status_code == 200 and ">carol<" in page.text
        with httpx.Client(base_url=url) as browser:  # the printed password signs in
            form = browser.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token
            signed = browser.post(
                "/login",
                data={
                    "csrf_token": token.group(1),
                    "email": "organizer@demo.test",
                    "password": accounts["organizer@demo.test"],
                },
            )
            assert signed.status_code in (200, 303)
            assert browser.get("/competitions/mico/admin/phases").status_code == 200
    finally:
        _stop(server)

    again, url, said_again = _run_demo(folder)
    try:
        assert not any("making the demo" in line for line in said_again)
        assert (
            dict(re.findall(r"^\s+(\S+@demo\.test)\s+(\S+)\s+\(", "".join(said_again), re.M))
            == accounts
        )
        board = httpx.get(f"{url}/api/v1/competitions/mico/tracks/sst2/leaderboard").json()
        assert len(board["entries"]) == 4  # the same rows, nothing added twice
    finally:
        _stop(again)
