"""What `mia-arena login`, `submit` and `submissions --track` do once their options are read:
talk to the server, print for people (results on standard output, progress on standard
error), exit 1 on a refusal and 2 when the server cannot be reached."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from app.client.api import DONE, WAIT, Api, ClientError, Upload
from app.client.config import ConfigError, Target, check_token, config_path, save
from app.client.feedback import Spinner, upload_progress
from app.client.text import clean, scores_table, submissions_table


@contextmanager
def reporting() -> Iterator[None]:
    """A refusal, a fault or an odd answer printed as a message with its exit status."""
    try:
        yield
    except ClientError as exc:
        click.echo(f"error: {exc.message}", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(exc.status)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (KeyError, TypeError, ValueError) as exc:
        click.echo(f"error: the server's answer is not what mia-arena expects ({exc!r})", err=True)
        sys.exit(1)


def login(server: str, token: str) -> None:
    """Check the token on the server and save both for later commands."""
    token = check_token(token)
    with Api(server, token) as api:
        try:
            me = api.me()
        except ClientError as exc:
            if exc.code != 401:
                raise
            raise ClientError(
                f"{server} refused this token (revoked or mistyped): make one on "
                f"{server}/account and run `mia-arena login` again; nothing was saved"
            ) from None
    path = config_path()
    save(path, server, token)
    who = f"{clean(str(me.get('email')), 200)} ({clean(str(me.get('role')), 20)})"
    click.echo(f"logged in to {server} as {who}")
    click.echo(f"server and token saved in {path} (readable by you only)")


def submit(target: Target, competition: str, track: str, upload: Upload, wait: bool) -> None:
    """Ask whether uploads are taken now; upload, then (unless told not to) wait for the score
    and print it."""
    with Api(target.server, target.token) as api:
        api.require_open(competition, track)
        label = f"uploading {clean(upload.name, 80)}"
        with upload_progress(len(upload.data), label) as progress:
            created = api.submit(competition, track, upload, progress)
        link = clean(api.link(str(created["url"])), 500)
        click.echo(f"submission {int(created['id'])} stored and queued for scoring: {link}")
        if not wait:
            return
        try:
            done = _wait(api, created)
        except KeyboardInterrupt:
            click.echo(f"\nstopped waiting; it is scored all the same: {link}", err=True)
            sys.exit(130)
    if done["status"] == "failed":
        reason = clean(str(done.get("error") or "no reason given"))
        raise ClientError(f"submission {int(done['id'])} failed: {reason}\n  {link}")
    if done["status"] == "disqualified":
        reason = clean(str(done.get("disqualified") or "no reason given"))
        raise ClientError(f"submission {int(done['id'])} is disqualified: {reason}\n  {link}")
    click.echo(scores_table(done))
    click.echo(f"submission page: {link}")


def _wait(api: Api, submission: dict[str, Any]) -> dict[str, Any]:
    """Long polls until the submission is scored or failed."""
    with Spinner(f"submission {submission['id']}") as spinner:
        spinner.show(str(submission["status"]))
        while submission["status"] not in DONE:
            submission = api.submission(int(submission["id"]), wait=WAIT)
            spinner.show(str(submission["status"]))
    return submission


def list_own(target: Target, competition: str, track: str, limit: int) -> None:
    """One's own (or one's team's) latest submissions to a track, as a table."""
    rows: list[dict[str, Any]] = []
    total = 0
    with Api(target.server, target.token) as api:
        offset: int | None = 0
        while offset is not None and len(rows) < limit:
            page = api.mine(competition, track, min(200, limit - len(rows)), offset)
            rows += page["submissions"]
            total, offset = int(page["total"]), page["next_offset"]
    if not rows:
        click.echo(f"no submissions to {clean(competition, 80)}/{clean(track, 80)} yet")
        return
    click.echo(submissions_table(rows))
    for row in rows:
        if row.get("disqualified"):
            reason = clean(" ".join(str(row["disqualified"]).split()), 300)
            click.echo(f"submission {int(row['id'])} is disqualified: {reason}")
    if total > len(rows):
        click.echo(f"the latest {len(rows)} of {total}; --limit {total} lists them all")
