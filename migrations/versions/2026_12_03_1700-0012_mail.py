"""mail: the outbox of mails to send, users.email_confirmed_at (existing accounts count as
confirmed) and users.notices (on for everyone)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("once_key", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_outbox_mails_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mails")),
        sa.UniqueConstraint("once_key", name=op.f("uq_outbox_mails_once_key")),
    )
    op.create_index(
        "ix_outbox_mails_pending", "outbox_mails", ["next_attempt_at", "sent_at"], unique=False
    )
    op.create_index(
        op.f("ix_outbox_mails_to_address"), "outbox_mails", ["to_address"], unique=False
    )
    op.create_index(op.f("ix_outbox_mails_user_id"), "outbox_mails", ["user_id"], unique=False)
    # Plain ADD COLUMN, not a batch: on SQLite a batch recreates the table from what it can
    # reflect, and the lower(display_name) index (0004) is an expression it cannot.
    op.add_column("users", sa.Column("email_confirmed_at", sa.DateTime(timezone=True)))
    op.add_column(
        "users", sa.Column("notices", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("notices")
        batch_op.drop_column("email_confirmed_at")
    if op.get_bind().dialect.name == "sqlite":  # the batch's copy of users lost it
        op.create_index(
            "uq_users_display_name_lower", "users", [sa.text("lower(display_name)")], unique=True
        )
    op.drop_index(op.f("ix_outbox_mails_user_id"), table_name="outbox_mails")
    op.drop_index(op.f("ix_outbox_mails_to_address"), table_name="outbox_mails")
    op.drop_index("ix_outbox_mails_pending", table_name="outbox_mails")
    op.drop_table("outbox_mails")
