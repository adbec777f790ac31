"""representatives: per track, split and owner, each leaderboard policy's pick among the
owner's rankable submissions (ranking reads 2,000 rows, not 100,000), filled from what is there

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rows as app.leaderboard.representatives works them out, for every track at once.
_FILL = """
INSERT INTO representatives (track_id, split, benchmark, owner, submissions, latest_id,
    best_id, pinned_latest_id, pinned_best_id, refreshed_at)
SELECT track_id, split, benchmark, owner, MAX(n),
    MAX(CASE WHEN latest = 1 THEN id END),
    MAX(CASE WHEN best = 1 THEN id END),
    MAX(CASE WHEN pinned_latest = 1 AND pinned THEN id END),
    MAX(CASE WHEN pinned_best = 1 AND pinned THEN id END),
    CURRENT_TIMESTAMP
FROM (
    SELECT c.*,
        ROW_NUMBER() OVER (PARTITION BY track_id, split, benchmark, owner
            ORDER BY created_at DESC, id DESC) AS latest,
        ROW_NUMBER() OVER (PARTITION BY track_id, split, benchmark, owner
            ORDER BY ranking_score DESC, created_at, id) AS best,
        ROW_NUMBER() OVER (PARTITION BY track_id, split, benchmark, owner
            ORDER BY pinned DESC, created_at DESC, id DESC) AS pinned_latest,
        ROW_NUMBER() OVER (PARTITION BY track_id, split, benchmark, owner
            ORDER BY pinned DESC, ranking_score DESC, created_at, id) AS pinned_best,
        COUNT(*) OVER (PARTITION BY track_id, split, benchmark, owner) AS n
    FROM (
        SELECT s.id, s.track_id, r.split, p.benchmark, s.pinned, s.created_at,
            r.ranking_score,
            CASE WHEN s.team_id IS NOT NULL THEN -s.team_id ELSE s.user_id END AS owner
        FROM submissions s
        JOIN rankings r ON r.submission_id = s.id
        JOIN phases p ON p.id = s.phase_id
        JOIN tracks t ON t.id = s.track_id
        WHERE s.status = 'scored' AND s.disqualified IS NULL
          AND NOT EXISTS (
            SELECT 1 FROM registrations g
            WHERE g.competition_id = t.competition_id AND g.user_id = s.user_id
              AND g.status = 'banned')
    ) c
) ranked
GROUP BY track_id, split, benchmark, owner
"""


def upgrade() -> None:
    op.create_table(
        "representatives",
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=16), nullable=False),
        sa.Column("benchmark", sa.Boolean(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("latest_id", sa.Integer(), nullable=False),
        sa.Column("best_id", sa.Integer(), nullable=False),
        sa.Column("pinned_latest_id", sa.Integer(), nullable=True),
        sa.Column("pinned_best_id", sa.Integer(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["latest_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["best_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pinned_latest_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pinned_best_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("track_id", "owner", "split", "benchmark"),
    )
    op.execute(_FILL)


def downgrade() -> None:
    op.drop_table("representatives")
