"""The long-running commands: the web server, the demo, the scoring workers, the sweeper."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click


@click.command()
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
    # The one write to the environment left: prometheus_client reads this folder from the
    # environment only, in each web process uvicorn spawns, so no settings object can carry it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return str(folder)


@click.command()
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

    started = time.perf_counter()  # before the server's packages load: they take seconds too
    from app import demo as demo_setup
    from app.core.config import Settings
    from app.core.db import make_engine, sessions
    from app.main import create_app

    made = not (folder / "accounts.json").exists()
    if made:
        click.echo(f"making the demo in {folder}/ (once; later runs reuse it) ...")
    arena = demo_setup.prepare(folder)
    settings = Settings(
        database_url=arena.database_url,
        secret_key=arena.secret_key,
        environment="development",
        redis_url=None,  # the server scores uploads in its own threads
        smtp_host=None,  # mails (a password reset) are printed to this log, not sent
        public_url=f"http://{host}:{port}",
    )
    application = create_app(settings, session_factory=sessions(make_engine(arena.database_url)))
    demo_setup.compute_intervals_meanwhile(arena)
    width = max(len(a.email) for a in arena.accounts)
    click.echo("accounts (password after the email):")
    for account in arena.accounts:
        click.echo(f"  {account.email.ljust(width)}  {account.password}  ({account.role})")
    click.echo("demo submissions to upload: " + str(folder / "demo-data" / "submissions"))

    def ready() -> None:  # called once the port takes connections, not before
        click.echo(f"ready in {time.perf_counter() - started:.1f} s: open http://{host}:{port}/")

    demo_setup.serve(application, host, port, ready)


@click.command()
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


@click.command()
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
