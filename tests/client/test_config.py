"""The client's pure parts: where its server and token come from, the saved file, times and
text from the server made safe for a terminal."""

from __future__ import annotations

import stat
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.client.api import retry_at
from app.client.config import (
    ConfigError,
    config_path,
    load,
    normalise_server,
    resolve,
    save,
    toml_string,
)
from app.client.text import clean, scores_table, submissions_table


@pytest.mark.parametrize(
    "value",
    ["plain", 'quote " and \\ backslash', "new\nline\ttab\x00nul\x7fdel\x1b[31m", "ünï 😀 \u2028"],
)
def test_the_saved_file_reads_back_exactly_whatever_it_holds(tmp_path: Path, value: str) -> None:
    assert tomllib.loads(f"v = {toml_string(value)}") == {"v": value}
    path = tmp_path / "deep" / "config.toml"
    save(path, "https://arena.example.org", value)
    assert load(path).token == value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saving_over_a_file_readable_by_others_makes_it_private(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("server = 'x'\n")
    path.chmod(0o644)
    save(path, "https://a.example", "tok")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_file_says_to_log_in_again(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("server = [unclosed")
    with pytest.raises(ConfigError, match="mia-arena login"):
        load(path)


def test_the_option_beats_the_variables_which_beat_the_file(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    save(config_path(env), "https://saved.example", "saved-token")
    assert resolve(None, env).server == "https://saved.example"
    assert resolve(None, env).token == "saved-token"
    env["MIA_TOKEN"] = "env-token"
    env["MIA_SERVER"] = "https://env.example"
    assert (resolve(None, env).server, resolve(None, env).token) == (
        "https://env.example",
        "env-token",
    )
    assert resolve("http://option.example:8000/", env).server == "http://option.example:8000"
    del env["MIA_TOKEN"]
    with pytest.raises(ConfigError, match="no API token for https://env.example"):
        resolve(None, env)  # the saved token is for another server


@pytest.mark.parametrize(
    "url", ["ftp://x.example", "https://", "https://u:p@x.example", "https://x.example/?a=1"]
)
def test_what_is_not_a_server_address_is_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        normalise_server(url)


def test_the_reset_time_is_given_in_utc_and_local_time_with_the_wait() -> None:
    now = datetime(2026, 12, 1, 21, 46, 59, 600_000, tzinfo=UTC)
    said = retry_at("7980", now)  # the server rounds down: 23:59:59.6
    assert said is not None
    assert said.startswith("you can submit again at 2026-12-02 00:00 UTC (")
    assert said.endswith("; in 2 h 13 min)") and "(your time: " in said
    http_date = retry_at("Wed, 02 Dec 2026 00:00:00 GMT", now)
    assert http_date is not None and "2026-12-02 00:00 UTC" in http_date
    assert retry_at("soon", now) is None and retry_at(None, now) is None
    assert retry_at("9" * 40, now) is None  # beyond any date: no time rather than a crash


def test_server_text_cannot_drive_the_terminal() -> None:
    assert clean("ok\x1b[2J\rback\x07") == "ok\\x1b[2J\\rback\\x07"
    assert clean("x" * 5000, 10) == "x" * 10 + "..."
    row = {
        "id": 7,
        "created_at": "2026-12-01T21:50:03",
        "status": "scored",
        "scores": {"dev": {"ranking_score": 0.5, "scenarios": {}}},
        "description": "line one\nline two\x1b[31m",
    }
    table = submissions_table([row])
    assert "2026-12-01 21:50 UTC" in table and "line one line two\\x1b[31m" in table
    hostile = {
        "track": "t\x1b]0;owned\x07",
        "scores": {
            "dev": {"ranking_score": 1, "scenarios": {"s\r": {"AUC": 0.5, "TPR_FPR_1000": "nan"}}}
        },
    }
    shown = scores_table(hostile)
    assert "\x1b" not in shown and "\r" not in shown and "\x07" not in shown
    assert scores_table({"scores": {}}) == "no scores shown in this phase"
