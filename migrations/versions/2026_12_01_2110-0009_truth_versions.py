"""truth_versions: each replacement of a track's ground truth (digests before and after, the
submissions it queued again)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "truth_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("digests_before", sa.JSON(), nullable=False),
        sa.Column("digests_after", sa.JSON(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("last_submission_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_truth_versions_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["tracks.id"],
            name=op.f("fk_truth_versions_track_id_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truth_versions")),
    )
    op.create_index(op.f("ix_truth_versions_track_id"), "truth_versions", ["track_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_truth_versions_track_id"), table_name="truth_versions")
    op.drop_table("truth_versions")
