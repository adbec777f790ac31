"""The Dockerfile and docker-compose.yml: valid, and everything they run exists. No Docker
engine is needed: the files are parsed, compose's own `config` validates and resolves
docker-compose.yml (Debian's docker-compose; .ci/run installs it), and each command a
container would run is run here with --help through the installed `mia-arena`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core.config import Settings
from tests.fixtures.services import MIA_ARENA, free_port
from tests.ops.conftest import Served

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {"SECRET_KEY": "k" * 48, "POSTGRES_PASSWORD": "pg-password-for-tests"}


def instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined and
    comments dropped."""
    joined = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def only(keyword: str) -> str:
    matches = [rest for kw, rest in instructions(DOCKERFILE.read_text()) if kw == keyword]
    assert len(matches) == 1, f"{keyword}: {matches}"
    return matches[0]


def help_of(command: list[str]) -> subprocess.CompletedProcess[str]:
    """`mia-arena COMMAND... --help` as the container would run it (ENTRYPOINT mia-arena)."""
    return subprocess.run(
        [MIA_ARENA, *command, "--help"], capture_output=True, text=True, timeout=60
    )


def test_the_image_is_slim_and_runs_as_a_user_of_its_own() -> None:
    steps = instructions(DOCKERFILE.read_text())
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", only("FROM"))
    users = [(i, rest) for i, (kw, rest) in enumerate(steps) if kw == "USER"]
    assert users, "no USER: the server would run as root"
    position, user = users[-1]
    assert user not in ("root", "0") and not user.startswith(("root:", "0:"))
    assert any(kw == "RUN" and "useradd" in rest and user in rest for kw, rest in steps)
    # Everything after the last USER runs as that user; nothing installs after it.
    assert not any(kw == "RUN" for kw, _ in steps[position:])
    assert "ENVIRONMENT=production" in " ".join(rest for kw, rest in steps if kw == "ENV")


def test_the_image_starts_the_web_server_by_default() -> None:
    assert json.loads(only("ENTRYPOINT")) == ["mia-arena"]
    command = json.loads(only("CMD"))
    assert command[0] == "serve" and "--workers" in command and "0.0.0.0" in command
    assert help_of(command).returncode == 0


def test_everything_the_image_copies_exists_and_is_not_ignored() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "demo-data", "**/__pycache__", ".env", "*.sqlite3"} <= ignored
    copies = [
        rest.split()[:-1] for kw, rest in instructions(DOCKERFILE.read_text()) if kw == "COPY"
    ]
    sources = [source for sources in copies for source in sources]
    assert {"pyproject.toml", "app", "workers", "migrations", "templates", "alembic.ini"} <= set(
        sources
    )
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source not in ignored, source


def _healthcheck_code() -> str:
    healthcheck = only("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"], "no curl in a slim image: Python's urllib"
    code: str = command[2]
    assert "urllib" in code and "127.0.0.1:8000/healthz" in code
    return code


def test_the_health_check_passes_on_a_live_server_and_fails_on_a_dead_one(
    served: Served,
) -> None:
    code = _healthcheck_code()
    live = code.replace("127.0.0.1:8000", served.url.removeprefix("http://"))
    assert subprocess.run([sys.executable, "-c", live], timeout=30).returncode == 0
    dead = code.replace("127.0.0.1:8000", f"127.0.0.1:{free_port()}")
    failed = subprocess.run([sys.executable, "-c", dead], capture_output=True, timeout=30)
    assert failed.returncode != 0


def raw_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _interpolated(value: str) -> str:
    """Compose's `${NAME:-default}` and `${NAME:?error}`, with the test's secrets."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3)
        return SECRETS.get(name) or (rest if kind == ":-" else "")

    return re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", one, value)


def mia_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "mia-arena:latest"}


def test_compose_runs_each_part_with_the_right_dependencies() -> None:
    compose = raw_compose()
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "sweeper"} <= set(services)
    commands = {n: s["command"][:2] for n, s in mia_services(compose).items()}
    assert commands == {
        "migrate": ["db", "upgrade"],
        "web": ["serve", "--host"],
        "worker": ["worker", "--concurrency"],
        "sweeper": ["sweeper"],
    }
    for name in ("web", "worker", "sweeper"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("postgres", "redis", "web"):
        assert "test" in services[name]["healthcheck"], name
    assert services["web"]["healthcheck"]["test"][-1] == _healthcheck_code()
    assert "--workers" in services["web"]["command"]


def test_compose_can_scale_the_workers() -> None:
    """`docker compose up --scale worker=4`: no fixed name, no host port to collide."""
    worker = raw_compose()["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["environment"]["WORKER_SWEEPER"] == "false"  # the sweeper service sweeps


def test_compose_keeps_data_in_named_volumes() -> None:
    compose = raw_compose()
    declared = set(compose["volumes"])
    for name in ("postgres", "redis"):
        (volume,) = compose["services"][name]["volumes"]
        assert volume.split(":")[0] in declared
    assert declared == {"postgres-data", "redis-data"}


def test_compose_configures_the_app_through_known_settings_and_needs_the_secrets() -> None:
    compose = raw_compose()
    for name, service in mia_services(compose).items():
        environment = {k: _interpolated(str(v)) for k, v in service["environment"].items()}
        unknown = {k for k in environment if k.lower() not in Settings.model_fields}
        assert not unknown, f"{name}: {unknown} are not settings"
        settings = Settings(**{k.lower(): v for k, v in environment.items()})  # type: ignore[arg-type]
        assert settings.environment == "production" and settings.json_logs
        assert settings.database_url.startswith("postgresql+psycopg://mia:")
        assert settings.redis_url == "redis://redis:6379/0" and settings.metrics_token is None
    secret = raw_compose()["x-app"]["environment"]["SECRET_KEY"]
    assert secret.startswith("${SECRET_KEY:?")  # compose refuses to start without it


def test_every_command_compose_runs_exists() -> None:
    for name, service in mia_services(raw_compose()).items():
        command = [_interpolated(str(part)) for part in service["command"]]
        answer = help_of(command)
        assert answer.returncode == 0, f"{name}: mia-arena {' '.join(command)}: {answer.stderr}"


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is required in CI (.ci/run installs it)")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [tool, "--file", str(COMPOSE), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_validates_the_file_and_resolves_commands_that_exist() -> None:
    resolved = compose_config(SECRETS)
    assert resolved.returncode == 0, resolved.stderr
    services = yaml.safe_load(resolved.stdout)["services"]
    assert services["web"]["command"][-2:] == ["--workers", "4"]
    for name, service in mia_services({"services": services}).items():
        answer = help_of(service["command"])
        assert answer.returncode == 0, f"{name}: {service['command']}: {answer.stderr}"


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_docker_compose_refuses_to_start_without_a_secret(missing: str) -> None:
    refused = compose_config({k: v for k, v in SECRETS.items() if k != missing})
    assert refused.returncode != 0
    assert f"set {missing}" in refused.stderr
