"""submissions: attempts, server faults, queue and scoring times for the queue and its sweeper;
zip bytes compressed with lz4 on PostgreSQL (pglz took 54 ms to store a 690 KB zip, lz4 6 ms)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("server_fault", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "queued_at",
                sa.DateTime(timezone=True),
                server_default=sa.func.now(),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("scoring_ms", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_submissions_queued_at"), ["queued_at"])
        batch_op.create_index(batch_op.f("ix_submissions_status"), ["status"])
    _zip_compression("lz4")


def _zip_compression(method: str) -> None:
    """PostgreSQL built with lz4 (Debian's and the official images are) compresses zips fast."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    methods = bind.scalar(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    )
    if methods and method in methods:
        op.execute(f"ALTER TABLE submissions ALTER COLUMN zip_bytes SET COMPRESSION {method}")


def downgrade() -> None:
    _zip_compression("pglz")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_status"))
        batch_op.drop_index(batch_op.f("ix_submissions_queued_at"))
        batch_op.drop_column("scoring_ms")
        batch_op.drop_column("queued_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("server_fault")
