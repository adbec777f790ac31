"""The `mia-arena` command: validate and score prediction zips offline, submit them to a server
and list one's own, make demo data, run the server."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

from app.scoring.archive import read_zip_file
from app.scoring.definition import MICO, Definition
from app.scoring.demo import write_demo_data
from app.scoring.problems import InvalidInput, headed
from app.scoring.readers import Predictions, read_submission, read_truth, submission_limits
from app.scoring.scorer import (  # midst: codabench_scores
    ScoringError,
    SplitScore,
    codabench_scores,
    codalab_lines,
    score_split,
)

T = TypeVar("T")

_DEFINITION = click.option(
    "--definition",
    "definition_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Competition definition as JSON or YAML (default: the built-in MICO definition).",
)


def _definition(path: Path | None) -> Definition:
    """The competition definition to use: a JSON file, or MICO."""
    if path is None:
        return MICO
    try:
        return Definition.load(path)
    except (KeyError, ValueError, TypeError) as exc:
        raise click.BadParameter(f"{path}: not a valid definition ({exc})") from exc


def _fail(title: str, exc: InvalidInput) -> NoReturn:
    """Print every problem under a title and exit with status 1."""
    n = len(exc.problems)
    click.echo(f"{title}: {n} problem{'s' if n != 1 else ''}", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)
    for text in headed("warnings", exc.warnings):
        click.echo(text, err=True)
    sys.exit(1)


def _checked(lookup: Callable[[str], T], name: str, option: str) -> T:
    """A track or split of the definition by name, or a usage error naming the known ones."""
    try:
        return lookup(name)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint=option) from None


def _read(
    zip_path: Path, definition: Definition, track: str | None, splits: tuple[str, ...] | None = None
) -> Predictions:
    """Read and validate a submission zip, or exit 1 with its problems."""
    if track is not None:
        _checked(definition.track, track, "--track")
    limits = submission_limits(definition)
    try:
        return read_submission(
            read_zip_file(zip_path, limits),  # refused by its size before it is read
            definition=definition,
            track=track,
            name=zip_path.name,
            limits=limits,
            splits=splits,
        )
    except InvalidInput as exc:
        _fail(f"{zip_path} is not a valid submission", exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """mia-arena: membership-inference competitions, scored exactly as MICO scores them."""


@main.command()
@click.argument(
    "zip_path",
    metavar="PREDICTIONS.zip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--track", help="The track the zip is for (read from the zip when left out).")
@_DEFINITION
def validate(zip_path: Path, track: str | None, definition_path: Path | None) -> None:
    """Check a prediction zip as the server will: exit 0 when valid, 1 with every problem."""
    definition = _definition(definition_path)
    predictions = _read(zip_path, definition, track)
    click.echo(
        f"{zip_path}: valid {predictions.track} submission, {predictions.files} "
        f"prediction files, splits {', '.join(predictions.splits)}"
    )
    for text in headed("warnings", predictions.warnings):  # still valid: exit 0
        click.echo(text)


_SERVER = click.option(
    "--server",
    metavar="URL",
    help="The mia-arena server (default: MIA_SERVER, or the one `mia-arena login` saved).",
)
_COMPETITION = click.option(
    "--competition", default="mico", show_default=True, help="The competition's short name."
)


@main.command()
@_SERVER
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
def login(server: str | None, token_stdin: bool) -> None:
    """Check an API token (made on your account page) and save it with the server's URL."""
    from app.client import commands, config

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


@main.command()
@click.argument(
    "zip_path",
    metavar="PREDICTIONS.zip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--track", required=True, help="The track the zip is for.")
@_COMPETITION
@_SERVER
@click.option("--description", default="", help="What this attempt tries, for your records.")
@click.option("--no-wait", is_flag=True, help="Return once uploaded, without the score.")
@_DEFINITION
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

    data = _valid_bytes(zip_path, _definition(definition_path), track)  # before any request
    with commands.reporting():
        upload = Upload(zip_path.name, data, description)
        commands.submit(config.resolve(server), competition, track, upload, wait=not no_wait)


def _valid_bytes(zip_path: Path, definition: Definition, track: str) -> bytes:
    """The zip's bytes once the server's own reader finds them valid; exit 1 otherwise."""
    _checked(definition.track, track, "--track")
    limits = submission_limits(definition)
    try:
        data = read_zip_file(zip_path, limits)
        read = read_submission(
            data, definition=definition, track=track, name=zip_path.name, limits=limits
        )
    except InvalidInput as exc:
        _fail(f"{zip_path} is not a valid submission (nothing was sent)", exc)
    for text in headed("warnings", read.warnings):
        click.echo(text, err=True)
    return data


@main.command()
@click.argument(
    "zip_path",
    metavar="PREDICTIONS.zip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--truth",
    "truth_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Ground truth: a folder or zip of solution.csv files in the official layout.",
)
@click.option(
    "--split",
    default="dev",
    show_default=True,
    help="Split to score: dev, final (or test) or train.",
)
@click.option("--track", help="The track the zip is for (read from the zip when left out).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "codalab", "codabench"]),  # midst: codabench
    default="table",
    show_default=True,
    help="table for people, json for programs, codalab: the official scores.txt lines, "
    "codabench: the official scores.json (MIDST).",
)
@_DEFINITION
def score(
    zip_path: Path,
    truth_path: Path,
    split: str,
    track: str | None,
    fmt: str,
    definition_path: Path | None,
) -> None:
    """Score a prediction zip against ground truth, as the official MICO program does."""
    definition = _definition(definition_path)
    if fmt == "codalab" and not definition.codalab:  # midst: MICO's keys only where they fit
        message = f"{definition.slug} has no codalab keys; use --format codabench or json"
        raise click.BadParameter(message, param_hint="--format")
    split = _checked(definition.split, split, "--split").name
    # Scoring one split needs that split only: a participant may score a train-only zip.
    predictions = _read(zip_path, definition, track, (split,))
    try:
        truth = read_truth(truth_path, definition=definition)
    except InvalidInput as exc:
        _fail(f"{truth_path} is not valid ground truth", exc)
    try:
        result = score_split(predictions, truth, definition, split)
    except ScoringError as exc:
        click.echo(f"cannot score {zip_path} on {split}: {exc}", err=True)
        sys.exit(1)
    if fmt == "codalab":
        click.echo("\n".join(codalab_lines(result, definition)))
    elif fmt == "codabench":  # midst
        click.echo(json.dumps(codabench_scores(result, definition)))
    elif fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(_table(result, definition))


def _table(result: SplitScore, definition: Definition) -> str:
    """Metrics per scenario as an aligned text table."""
    keys = [*definition.tpr_keys, "AUC", "MIA", "accuracy"]
    heads = [f"TPR@{t:g}" for t in definition.fpr_thresholds] + keys[-3:]
    title = f"{result.track}, {result.split} split"
    width = max(len(title), *(len(s) for s in result.scenarios)) + 2
    lines = [title.ljust(width) + "".join(h.rjust(10) for h in heads)]
    for name, s in result.scenarios.items():
        lines.append(name.ljust(width) + "".join(f"{s.metrics[k]:10.4f}" for k in keys))
    ranking = f"TPR@{definition.ranking_threshold:g}FPR"
    how, word = definition.track(result.track).ranking, definition.scenario_word  # midst
    lines.append(f"ranking score ({how} {ranking} over {word}s): {result.ranking_score:.4f}")
    return "\n".join(lines)


@main.command("demo-data")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--track", "tracks", multiple=True, help="Only this track (repeatable).")
@click.option("--seed", default=0, show_default=True, help="Random seed: same seed, same bytes.")
@_DEFINITION
def demo_data(out: Path, tracks: tuple[str, ...], seed: int, definition_path: Path | None) -> None:
    """Write synthetic ground truth (OUT/truth) and submissions (OUT/submissions/*.zip)."""
    definition = _definition(definition_path)
    for track in tracks:
        _checked(definition.track, track, "--track")
    zips = write_demo_data(out, tracks or None, seed=seed, definition=definition)
    click.echo(f"ground truth: {out / 'truth'}")
    for path in zips:
        click.echo(f"submission:   {path}")


@main.group()
def db() -> None:
    """The database on DATABASE_URL."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision (Alembic, safe to run twice)."""
    from app.core.config import get_settings
    from app.core.db import upgrade

    upgrade()
    click.echo(
        f"database at {_hide_password(get_settings().database_url)} is at the latest revision"
    )


def _hide_password(url: str) -> str:
    """A database URL fit to print: its password replaced by ***."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.group()
def users() -> None:
    """Accounts on DATABASE_URL."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["participant", "organizer", "admin"]),
    default="participant",
    show_default=True,
)
@click.option("--name", help="Display name (default: the part of the email before @).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input; otherwise a strong one is made and printed.",
)
def users_create(email: str, role: str, name: str | None, password_stdin: bool) -> None:
    """Create an account."""
    import secrets

    from app.auth import service as auth
    from app.models.user import Role

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    with _database() as session:
        user = auth.create_user(session, email, password, role=Role(role), display_name=name)
        click.echo(f"created {user.role.value} {user.email} (display name {user.display_name})")
    if not password_stdin:
        click.echo(f"password: {password}")


@main.group()
def tokens() -> None:
    """API tokens on DATABASE_URL."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def tokens_create(email: str, name: str) -> None:
    """Create an API token for an account; the token is printed alone on the last line."""
    from app.auth import service as auth

    with _database() as session:
        user = auth.user_by_email(session, email)
        row, token = auth.create_token(session, user, name)
        click.echo(f"token '{row.name}' for {user.email} (shown once; {row.prefix}... later):")
    click.echo(token)


@contextmanager
def _database() -> Iterator[Session]:
    """A committed session on DATABASE_URL; a domain error exits 1 with its message."""
    from app.core.db import session_scope
    from app.core.errors import DomainError

    try:
        with session_scope() as session:
            yield session
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


@main.group()
def competitions() -> None:
    """Competitions on DATABASE_URL."""


@competitions.command("import-mico")
@click.argument("truth", type=click.Path(exists=True, path_type=Path))
@click.option("--slug", default="mico", show_default=True, help="The competition's short name.")
@click.option("--title", help="The competition's title (default: MICO's).")
@click.option(
    "--organizer",
    "organizers",
    multiple=True,
    metavar="EMAIL",
    help="An account that runs this competition (repeatable; admins run every one).",
)
def competitions_import_mico(
    truth: Path, slug: str, title: str | None, organizers: tuple[str, ...]
) -> None:
    """Create or update a MICO competition from ground truth in the official layout."""
    from app.auth import service as auth
    from app.competitions import registrations
    from app.competitions import service as competitions_service

    with _database() as session:
        people = [auth.user_by_email(session, email) for email in organizers]
        report = competitions_service.import_mico(session, truth, slug=slug, title=title)
        verb = "created" if report.created else "updated"
        click.echo(f"{verb} competition {slug} ({report.competition.title})")
        for person in people:
            if registrations.add_organizer(session, report.competition, person):
                click.echo(f"organizer: {person.email}")
    click.echo(f"tracks: {', '.join(report.tracks)}; scenarios: {report.scenarios}")
    click.echo(
        f"ground truth (dev and final): {report.truth_added} added, {report.truth_changed} "
        f"changed, {report.truth_unchanged} unchanged"
    )
    if report.phases_added:
        click.echo("phases: Development (open now, dev shown, final withheld), Final (closed)")


@competitions.command("organizers")
@click.argument("slug")
@click.option("--add", "added", multiple=True, metavar="EMAIL", help="List this account.")
@click.option("--remove", "removed", multiple=True, metavar="EMAIL", help="Unlist this account.")
def competitions_organizers(slug: str, added: tuple[str, ...], removed: tuple[str, ...]) -> None:
    """List a competition's organizers, adding or removing some first."""
    from app.auth import service as auth
    from app.competitions import registrations

    with _database() as session:
        competition = registrations.competition_by_slug(session, slug)
        for email in added:
            registrations.add_organizer(session, competition, auth.user_by_email(session, email))
        for email in removed:
            person = auth.user_by_email(session, email)
            registrations.remove_organizer(session, competition, person)
        people = registrations.organizers_of(session, competition)
        click.echo(f"organizers of {slug}: " + (", ".join(p.email for p in people) or "none"))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, help="Web server processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Start the web server (uvicorn) on DATABASE_URL; with REDIS_URL, workers score."""
    import uvicorn

    from app.core.config import get_settings
    from app.core.logs import logging_config

    settings = get_settings()
    metrics = _metrics_folder(settings.prometheus_multiproc_dir, workers)
    mode = "Celery workers through Redis" if settings.redis_url else "in-process threads"
    click.echo(f"mia-arena on http://{host}:{port}/ ({workers} process(es); scoring: {mode})")
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            # Applied in each worker process: JSON or text lines with request ids; the
            # requests themselves are logged by app.ops.middleware, with their route.
            log_config=logging_config(settings),
            access_log=False,
        )
    finally:
        if metrics is not None and settings.prometheus_multiproc_dir is None:
            shutil.rmtree(metrics, ignore_errors=True)


def _metrics_folder(configured: str | None, workers: int) -> str | None:
    """Where the web processes share their metrics (prometheus_client's multiprocess mode):
    PROMETHEUS_MULTIPROC_DIR emptied of a previous run's counts, or a temporary folder when
    there are several processes and none is set. Set in the environment before any process
    imports prometheus_client, which reads it then."""
    import tempfile

    if configured is None and workers == 1:
        return None
    folder = Path(configured or tempfile.mkdtemp(prefix="mia-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return str(folder)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--dir",
    "folder",
    default="mia-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its database, data and accounts (made on the first run).",
)
def demo(host: str, port: int, folder: Path) -> None:
    """Run MICO with demo data, accounts and scored submissions: no PostgreSQL or Redis."""
    import time

    from app import demo as demo_setup

    started = time.perf_counter()
    made = not (folder / "accounts.json").exists()
    if made:
        click.echo(f"making the demo in {folder}/ (once; later runs start at once) ...")
    arena = demo_setup.prepare(folder)
    os.environ.update(
        DATABASE_URL=arena.database_url, SECRET_KEY=arena.secret_key, ENVIRONMENT="development"
    )
    os.environ.pop("REDIS_URL", None)  # the server scores uploads in its own threads
    demo_setup.compute_intervals_meanwhile(arena)
    width = max(len(a.email) for a in arena.accounts)
    click.echo("accounts (password after the email):")
    for account in arena.accounts:
        click.echo(f"  {account.email.ljust(width)}  {account.password}  ({account.role})")
    click.echo("demo submissions to upload: " + str(folder / "demo-data" / "submissions"))

    def ready() -> None:  # called once the port takes connections, not before
        click.echo(f"ready in {time.perf_counter() - started:.1f} s: open http://{host}:{port}/")

    demo_setup.serve(host, port, ready)


@main.command()
@click.option("--concurrency", "-c", default=2, show_default=True, help="Scoring processes.")
@click.option("--loglevel", default="info", show_default=True)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "threads", "solo"]),
    default="prefork",
    show_default=True,
    help="Celery's execution pool (prefork enforces the hard time limit).",
)
@click.option(
    "--queues",
    type=click.Choice(["scoring,intervals", "scoring", "intervals"]),
    default="scoring,intervals",
    show_default=True,
    help="What to take: scoring first then the bootstrap intervals when no scoring waits, "
    "or one kind only (say, intervals on a machine of their own).",
)
def worker(concurrency: int, loglevel: str, pool: str, queues: str) -> None:
    """Start a Celery worker scoring submissions from REDIS_URL (any number, any machine)."""
    from celery.bin.celery import main as celery_main

    from app.core.config import get_settings

    if not get_settings().redis_url:
        raise click.UsageError(
            "REDIS_URL is not set: workers take submissions from Redis. Without Redis, "
            "`mia-arena serve` scores in-process and needs no worker."
        )
    sys.argv = [
        "celery",
        "--app",
        "workers.celery_app:celery",
        "worker",
        "--queues",
        queues,  # in this order: scoring first, intervals only when none waits
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--hostname",
        f"mia-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    celery_main()


@main.command()
def sweeper() -> None:
    """Resend stuck submissions now and then (each worker already runs one; this is for
    deployments that keep it apart)."""
    from app.core.config import get_settings
    from app.core.db import sessions
    from app.core.logs import configure_logging
    from app.submissions.pipeline import Sweeper, dispatcher_for

    settings = get_settings()
    configure_logging(settings)
    factory = sessions()
    loop = Sweeper.from_settings(factory, dispatcher_for(settings, factory), settings)
    click.echo(f"sweeping every {settings.sweep_interval_seconds} s (Ctrl-C to stop)")
    loop.run()


@main.group(invoke_without_command=True)
@click.option("--track", help="List your own submissions to this track.")
@_COMPETITION
@_SERVER
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


@submissions.command("rescore")
@click.argument("slug")
@click.option("--track", help="Only this track.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every submission, not only those that failed because of the server.",
)
def submissions_rescore(slug: str, track: str | None, everything: bool) -> None:
    """Queue a competition's submissions to be scored again (after new ground truth, say)."""
    from sqlalchemy import select

    from app.competitions.registrations import competition_by_slug, tracks_of
    from app.core.config import get_settings
    from app.core.db import sessions
    from app.models.submission import Submission, SubmissionStatus
    from app.submissions.pipeline import dispatcher_for, rescore

    settings = get_settings()
    dispatcher = dispatcher_for(settings, sessions())
    with _database() as session:
        competition = competition_by_slug(session, slug)
        track_ids = [t.id for t in tracks_of(session, competition) if track in (None, t.name)]
        query = select(Submission).where(Submission.track_id.in_(track_ids))
        if not everything:
            query = query.where(
                Submission.status == SubmissionStatus.FAILED, Submission.server_fault.is_(True)
            )
        ids = rescore(session, dispatcher.send, list(session.scalars(query)))
    dispatcher.close()
    where = "sent to the workers" if settings.redis_url else "scored"
    click.echo(f"{len(ids)} submissions of {slug} queued again and {where}")
