"""Where the participants' client finds its server and token: `--server`, then the MIA_SERVER
and MIA_TOKEN variables, then the file `mia-arena login` writes (readable by its owner only)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """The server or token is missing or unusable; the message says what to do."""


@dataclass(frozen=True)
class Saved:
    """What `mia-arena login` saved: the server and the token it was checked on."""

    server: str | None = None
    token: str | None = None


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/mia-arena/config.toml`, or `~/.config/mia-arena/config.toml`."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if Path(base).is_absolute() else Path.home() / ".config"
    return root / "mia-arena" / "config.toml"


def normalise_server(url: str) -> str:
    """`https://arena.example.org` from what a person types; ConfigError when it is no URL."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"'{url}' is not a server URL: give one like https://arena.example.org")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(
            f"'{url}': give the server's address alone, like https://arena.example.org"
        )
    return url.rstrip("/")


def check_token(token: str) -> str:
    """The token without surrounding blanks; ConfigError when it cannot be one."""
    token = token.strip()
    if not token:
        raise ConfigError("the token is empty: copy it from your account page (/account)")
    if len(token) > 512 or not all("!" <= c <= "~" for c in token):
        raise ConfigError("that is not an API token: copy it from your account page (/account)")
    return token


def load(path: Path) -> Saved:
    """The saved server and token; nothing when the file is not there."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Saved()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; run `mia-arena login` again") from None
    server, token = data.get("server"), data.get("token")
    return Saved(
        server if isinstance(server, str) else None, token if isinstance(token, str) else None
    )


def save(path: Path, server: str, token: str) -> None:
    """Write the file, readable and writable by its owner only (0600), replacing it whole."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = f"server = {toml_string(server)}\ntoken = {toml_string(token)}\n"
    partial = path.with_name(path.name + ".new")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # a leftover file keeps its mode through O_CREAT
        os.write(descriptor, text.encode("utf-8"))
    finally:
        os.close(descriptor)
    os.replace(partial, path)


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Target:
    """The server to talk to and the token to send it."""

    server: str
    token: str


def resolve(option: str | None, environ: Mapping[str, str] | None = None) -> Target:
    """The server (`--server`, MIA_SERVER, the file) and its token (MIA_TOKEN, the file). The
    saved token is sent only to the server it was saved for."""
    env = os.environ if environ is None else environ
    saved = load(config_path(env))
    raw = option or env.get("MIA_SERVER") or saved.server
    if not raw:
        raise ConfigError(
            "no server given: run `mia-arena login --server URL` once, set MIA_SERVER, or "
            "pass --server URL"
        )
    server = normalise_server(raw)
    if env.get("MIA_TOKEN"):
        return Target(server, check_token(env["MIA_TOKEN"]))
    same = saved.server is not None and normalise_server(saved.server) == server
    if saved.token and same:
        return Target(server, check_token(saved.token))
    raise ConfigError(
        f"no API token for {server}: run `mia-arena login --server {server}` or set MIA_TOKEN "
        "(tokens are made on your account page, /account)"
    )
