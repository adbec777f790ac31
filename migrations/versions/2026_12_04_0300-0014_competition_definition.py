"""competitions: definition, the version 2 definition a competition was created from (tracks'
optional model types and ranking aggregate, splits, file layout, metrics, phases); null for
MICO's built-in definition, which every competition had before

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("competitions", sa.Column("definition", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.drop_column("definition")
