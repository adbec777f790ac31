"""The `mia-arena` command: validate and score prediction zips offline, submit them to a server
and list one's own, run the database's chores, make demo data, run the server."""

from __future__ import annotations

import click

from app.cli import admin, client, offline, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """mia-arena: membership-inference competitions, scored exactly as MICO scores them."""


for command in (
    offline.validate,
    client.login,
    client.submit,
    offline.score,
    offline.demo_data,
    admin.db,
    admin.users,
    admin.tokens,
    admin.competitions,
    serve.serve,
    serve.demo,
    serve.worker,
    serve.sweeper,
    client.submissions,
):
    main.add_command(command)
client.submissions.add_command(admin.submissions_rescore)
client.submissions.add_command(admin.submissions_move_zips)
