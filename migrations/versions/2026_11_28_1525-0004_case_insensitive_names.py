"""display names and team names unique whatever their letter case

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_users_display_name_lower", "users", [sa.text("lower(display_name)")], unique=True
    )
    op.create_index("uq_teams_name_lower", "teams", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_teams_name_lower", table_name="teams")
    op.drop_index("uq_users_display_name_lower", table_name="users")
