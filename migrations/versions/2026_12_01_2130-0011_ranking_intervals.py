"""rankings: the ranking score's 95% bootstrap interval (ci_low, ci_high), and when its job
was last sent (ci_sent_at), indexed where the interval is missing

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ci_low", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ci_high", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ci_sent_at", sa.DateTime(timezone=True), nullable=True))
    # Rows scored before this revision have none: the sweeper fills them in, a batch at a time.
    op.create_index(
        "ix_rankings_ci_missing",
        "rankings",
        ["ci_sent_at"],
        postgresql_where=sa.text("ci_low IS NULL"),
        sqlite_where=sa.text("ci_low IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_rankings_ci_missing", table_name="rankings")
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.drop_column("ci_sent_at")
        batch_op.drop_column("ci_high")
        batch_op.drop_column("ci_low")
