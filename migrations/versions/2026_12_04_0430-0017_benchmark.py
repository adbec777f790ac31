"""benchmark: a phase opened after the competition as a living benchmark, the date organizers
published the labels, and each entry's verification level (set by organizers)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("self_reported", "rerun", "verified")


def upgrade() -> None:
    op.add_column(
        "phases", sa.Column("benchmark", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "competitions",
        sa.Column("labels_published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "submissions",
        sa.Column(
            "verification",
            sa.Enum(
                *LEVELS,
                name="verification",
                native_enum=False,
                # SQLite adds no CHECK to an existing table (and `users` is never batch-copied)
                create_constraint=op.get_bind().dialect.name != "sqlite",
                length=32,
            ),
            server_default="self_reported",
            nullable=False,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("verification")
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.drop_column("labels_published_at")
    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.drop_column("benchmark")
