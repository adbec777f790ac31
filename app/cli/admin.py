"""The operators' commands, on DATABASE_URL: the schema, accounts, tokens, competitions and
rescoring."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.competitions import creation


@click.group()
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


@click.group()
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


@click.group()
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


# The options every command that makes a competition takes.
ORGANIZERS = click.option(
    "--organizer",
    "organizers",
    multiple=True,
    metavar="EMAIL",
    help="An account that runs this competition (repeatable; admins run every one).",
)
PREVIEW = click.option("--preview", is_flag=True, help="Say what would be created; store nothing.")


@click.group()
def competitions() -> None:
    """Competitions on DATABASE_URL."""


@competitions.command("import-mico")
@click.argument("truth", type=click.Path(exists=True, path_type=Path))
@click.option("--slug", default="mico", show_default=True, help="The competition's short name.")
@click.option("--title", help="The competition's title (default: MICO's).")
@ORGANIZERS
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


@competitions.command("create")
@click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("truth", type=click.Path(exists=True, path_type=Path))
@click.option("--slug", help="The competition's short name (default: the definition's).")
@click.option("--title", help="The competition's title (default: the definition's).")
@ORGANIZERS
@PREVIEW
def competitions_create(
    definition: Path,
    truth: Path,
    slug: str | None,
    title: str | None,
    organizers: tuple[str, ...],
    preview: bool,
) -> None:
    """Create a competition from a DEFINITION file (JSON or YAML) and its ground TRUTH (a
    folder or zip in the definition's label layout): tracks, model types, labels, phases."""
    from app.auth import service as auth
    from app.competitions import creation, registrations
    from app.competitions.service import read_labels
    from app.models.base import utcnow
    from app.scoring.definition import Definition, DefinitionError

    try:
        spec = Definition.load(definition)
    except DefinitionError as exc:
        raise click.ClickException(f"{definition.name}: {exc}") from None
    with _database() as session:
        people = [auth.user_by_email(session, email) for email in organizers]
        plan = creation.preview(session, spec, read_labels(truth, spec), slug=slug, title=title)
        for line in _described(plan):
            click.echo(line)
        if preview:
            click.echo("preview only: nothing stored")
            return
        competition = creation.create(session, plan, utcnow())
        for person in people:
            registrations.add_organizer(session, competition, person)
            click.echo(f"organizer: {person.email}")
    click.echo(f"created competition {plan.slug} ({plan.title})")


@competitions.command("import-bundle")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="ZIP",
    help="The ground truth as a zip, for a bundle without its reference data.",
)
@click.option("--slug", help="The competition's short name (default: the definition's).")
@click.option("--title", help="The competition's title (default: the bundle's).")
@ORGANIZERS
@PREVIEW
def competitions_import_bundle(
    bundle: Path,
    truth: Path | None,
    slug: str | None,
    title: str | None,
    organizers: tuple[str, ...],
    preview: bool,
) -> None:
    """Create a competition from a CodaLab or Codabench BUNDLE (MICO's or MIDST's zip): its
    pages, phases, limits and leaderboard columns on the definition it maps to. The scoring
    program is never run."""
    from dataclasses import replace

    from app.auth import service as auth
    from app.competitions import bundle_import, registrations
    from app.competitions.bundles import BUNDLE_LIMITS, BundleRefused
    from app.models.base import utcnow
    from app.scoring.archive import read_zip_file
    from app.scoring.problems import InvalidInput
    from app.scoring.readers import TRUTH_LIMITS

    with _database() as session:
        people = [auth.user_by_email(session, email) for email in organizers]
        try:
            data = read_zip_file(bundle, BUNDLE_LIMITS)
            labels = (read_zip_file(truth, TRUTH_LIMITS), truth.name) if truth else None
        except InvalidInput as exc:
            raise BundleRefused(bundle.name, exc.problems) from None
        plan = bundle_import.plan_bundle(
            session, data, bundle.name, slug=slug, title=title, truth=labels
        )
        click.echo(plan.mapping_note)
        for warning in plan.warnings:
            click.echo(f"warning: {warning}")
        for line in _described(replace(plan.preview, phases=())):
            click.echo(line)
        for line in bundle_import.described(plan):
            click.echo(line)
        if preview:
            click.echo("preview only: nothing stored")
            return
        competition = bundle_import.create_from_bundle(session, plan, utcnow())
        for person in people:
            registrations.add_organizer(session, competition, person)
            click.echo(f"organizer: {person.email}")
    click.echo(f"created competition {plan.preview.slug} ({plan.preview.title})")


def _described(plan: creation.Preview) -> list[str]:
    """A preview as lines: tracks, scenarios with their splits' counts, phases."""
    lines = [f"{plan.slug}: {plan.title} (definition {plan.definition.slug})"]
    for track in plan.tracks:
        lines.append(
            f"track {track.name}: ranked by {track.ranking} of {plan.definition.ranking_key}"
        )
        for scenario in track.scenarios:
            counts = ", ".join(
                f"{f.split} {f.models} models, {f.labels:,} labels ({f.members:,} members)"
                for f in scenario.splits
            )
            optional = " (optional)" if scenario.optional else ""
            lines.append(f"  {scenario.name}{optional}: {counts}")
    for phase in plan.phases:
        state = "opens now" if phase.opens_now else "closed until opened"
        uploads = "uploads" if phase.accepts_uploads else "no uploads"
        lines.append(
            f"phase {phase.name}: {state}, {uploads}, scores {'/'.join(phase.scored_splits)}"
        )
    return lines


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


@click.command("rescore")
@click.argument("slug")
@click.option("--track", help="Only this track.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every submission, not only those that failed because of the server.",
)
def submissions_rescore(slug: str, track: str | None, everything: bool) -> None:
    """Queue a competition's submissions to be scored again (after new ground truth, say): one
    UPDATE and one message a track; without Redis, scored here before this returns."""
    from app.competitions.registrations import competition_by_slug, tracks_of
    from app.core.config import get_settings
    from app.core.db import sessions
    from app.models.submission import Submission, SubmissionStatus
    from app.submissions.pipeline import dispatcher_for, rescore_track, rescore_until_done

    settings = get_settings()
    dispatcher = dispatcher_for(settings, sessions())
    only = (
        []
        if everything
        else [Submission.status == SubmissionStatus.FAILED, Submission.server_fault.is_(True)]
    )
    with _database() as session:
        competition = competition_by_slug(session, slug)
        track_ids = [t.id for t in tracks_of(session, competition) if track in (None, t.name)]
        count = sum(rescore_track(session, dispatcher, t, *only) for t in track_ids)
    if not settings.redis_url:  # the embedded threads do not finish a bulk rescore on close
        for track_id in track_ids:
            rescore_until_done(sessions(), track_id, settings.scoring_attempts, dispatcher)
    dispatcher.close()
    where = "sent to the workers" if settings.redis_url else "scored"
    click.echo(f"{count} submissions of {slug} queued again and {where}")


@click.command("move-zips")
@click.option(
    "--to",
    "to",
    type=click.Choice(["directory", "database"]),
    required=True,
    help="Where every stored zip goes: files under ZIP_DIRECTORY, or the submissions' rows.",
)
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Zips moved per transaction.",
)
def submissions_move_zips(to: str, batch: int) -> None:
    """Move every submission zip to ZIP_DIRECTORY or to the database, each checked against its
    SHA-256 on both sides; safe to stop and run again. Set ZIP_STORAGE to match, so that new
    uploads go there too (and run it once more after the restart, for any sent meanwhile)."""
    from app.core import zip_storage
    from app.core.db import sessions
    from app.core.errors import DomainError

    moved, damaged = 0, list[int]()
    try:
        for done in zip_storage.move(sessions(), to, batch):
            moved, damaged = moved + done.moved, damaged + done.damaged
            click.echo(f"{moved} zips moved to the {to} so far")
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{moved} zips moved to the {to}; every other one was there already")
    if damaged:
        shown = ", ".join(map(str, damaged[:20])) + (" …" if len(damaged) > 20 else "")
        click.echo(
            f"error: {len(damaged)} zips do not match their SHA-256 and were left where they "
            f"are (submissions {shown}): restore them, then run this again",
            err=True,
        )
        sys.exit(1)
