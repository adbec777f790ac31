"""rankings: replicates, each of the 1,000 common cluster-bootstrap replicates' ranking score
(float32, 4 KB) for rank intervals; every interval computed before (a point bootstrap, seeded
per submission) is cleared so the sweeper computes it again the new way, replicates with it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rankings", sa.Column("replicates", sa.LargeBinary(), nullable=True))
    op.execute("UPDATE rankings SET ci_low = NULL, ci_high = NULL, ci_sent_at = NULL")


def downgrade() -> None:
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.drop_column("replicates")
