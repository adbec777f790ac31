"""results: submissions' method name, write-up and code links (what their owners say of them);
awards, the organizers' announcement per track after the reveal

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINKS = ("method_name", "writeup_url", "code_url")


def upgrade() -> None:
    op.add_column("submissions", sa.Column("method_name", sa.String(length=120), nullable=True))
    op.add_column("submissions", sa.Column("writeup_url", sa.String(length=2000), nullable=True))
    op.add_column("submissions", sa.Column("code_url", sa.String(length=2000), nullable=True))
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("awarded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["awarded_by"],
            ["users.id"],
            name=op.f("fk_awards_awarded_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_awards_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_awards_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["tracks.id"],
            name=op.f("fk_awards_track_id_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards")),
        sa.UniqueConstraint("track_id", "position", name=op.f("uq_awards_track_id")),
    )
    op.create_index(op.f("ix_awards_competition_id"), "awards", ["competition_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_awards_competition_id"), table_name="awards")
    op.drop_table("awards")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        for column in reversed(LINKS):
            batch_op.drop_column(column)
