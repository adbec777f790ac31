"""competition_organizers: organizers run the competitions they are listed for, not every one

Existing organizer-role users are listed for every existing competition, so nobody loses
what they could do before this revision.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "competition_organizers",
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["competition_id"], ["competitions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("competition_id", "user_id"),
    )
    op.create_index(
        "ix_competition_organizers_user_id", "competition_organizers", ["user_id"], unique=False
    )
    op.execute(
        "INSERT INTO competition_organizers (competition_id, user_id, added_at) "
        "SELECT competitions.id, users.id, CURRENT_TIMESTAMP FROM competitions, users "
        "WHERE users.role = 'organizer'"
    )


def downgrade() -> None:
    op.drop_index("ix_competition_organizers_user_id", table_name="competition_organizers")
    op.drop_table("competition_organizers")
