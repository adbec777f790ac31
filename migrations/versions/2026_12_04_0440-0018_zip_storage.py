"""submissions: zip_storage, where each zip is kept (`database`: its row's zip_bytes, or
`directory`: a file under ZIP_DIRECTORY); every existing row is in the database, as NULL says

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("zip_storage", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("zip_storage")
