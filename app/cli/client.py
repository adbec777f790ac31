"""The participants' commands, on a server: log in, submit a zip, list one's submissions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from app.cli.offline import DEFINITION, checked, fail, load_definition
from app.scoring.archive import read_zip_file
from app.scoring.definition import Definition
from app.scoring.problems import InvalidInput, headed
from app.scoring.readers import read_submission, submission_limits

SERVER = click.option(
    "--server",
    metavar="URL",
    help="The mia-arena server (default: MIA_SERVER, or the one `mia-arena login` saved).",
)
COMPETITION = click.option(
    "--competition", default="mico", show_default=True, help="The competition's short name."
)


@click.command()
@SERVER
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
def login(server: str | None, token_stdin: bool) -> None:
    """Check an API token (made on your account page) and save it with the server's URL."""
    from app.client import commands, config

    if not token_stdin and not sys.stdin.isatty():
        # click.prompt would fall back to getpass, which warns with a traceback and reads
        # the token in plain sight.
        raise click.UsageError(
            "no terminal to type the token in: pipe it in with --token-stdin "
            "(e.g. `printenv TOKEN | mia-arena login --token-stdin`), or set MIA_TOKEN "
            "(and MIA_SERVER) for each command instead of logging in"
        )
    with commands.reporting():
        url = config.normalise_server(server or _saved_server())
        if token_stdin:
            token = sys.stdin.readline()
        else:
            token = click.prompt("API token (from /account; not shown)", hide_input=True)
        commands.login(url, token)


def _saved_server() -> str:
    """MIA_SERVER or the saved server, for `login` without --server."""
    from app.client import config

    found = os.environ.get("MIA_SERVER") or config.load(config.config_path()).server
    if not found:
        raise click.UsageError("give the server: mia-arena login --server URL")
    return found


@click.command()
@click.argument(
    "zip_path",
    metavar="PREDICTIONS.zip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--track", required=True, help="The track the zip is for.")
@COMPETITION
@SERVER
@click.option("--description", default="", help="What this attempt tries, for your records.")
@click.option("--no-wait", is_flag=True, help="Return once uploaded, without the score.")
@DEFINITION
def submit(
    zip_path: Path,
    track: str,
    competition: str,
    server: str | None,
    description: str,
    no_wait: bool,
    definition_path: Path | None,
) -> None:
    """Validate a prediction zip here, then upload it, wait for its score and print it."""
    from app.client import commands, config
    from app.client.api import Upload

    data = _valid_bytes(zip_path, load_definition(definition_path), track)  # before any request
    with commands.reporting():
        upload = Upload(zip_path.name, data, description)
        commands.submit(config.resolve(server), competition, track, upload, wait=not no_wait)


def _valid_bytes(zip_path: Path, definition: Definition, track: str) -> bytes:
    """The zip's bytes once the server's own reader finds them valid; exit 1 otherwise."""
    checked(definition.track, track, "--track")
    limits = submission_limits(definition)
    try:
        data = read_zip_file(zip_path, limits)
        read = read_submission(
            data, definition=definition, track=track, name=zip_path.name, limits=limits
        )
    except InvalidInput as exc:
        fail(f"{zip_path} is not a valid submission (nothing was sent)", exc)
    for text in headed("warnings", read.warnings):
        click.echo(text, err=True)
    return data


@click.group(invoke_without_command=True)
@click.option("--track", help="List your own submissions to this track.")
@COMPETITION
@SERVER
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="How many of the latest to list.",
)
@click.pass_context
def submissions(
    ctx: click.Context, track: str | None, competition: str, server: str | None, limit: int
) -> None:
    """Your own submissions on the server (--track T); for organizers, `rescore` on
    DATABASE_URL."""
    if ctx.invoked_subcommand is not None:
        if track is not None:
            raise click.UsageError("--track lists your submissions; give it without a command")
        return
    if track is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    from app.client import commands, config

    with commands.reporting():
        commands.list_own(config.resolve(server), competition, track, limit)
