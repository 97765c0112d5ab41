"""`ix_segments_started_at` covers the columns the metrics read

A report or total over a time range read each segment's row (~70 columns) by rowid after finding
it in the index on `started_at`; with the metrics' columns in the index it reads the index alone.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# frozen here: `warehouse.tables.METRIC_COLUMNS` at this revision
COLUMNS = [
    "started_at", "kind", "abandoned", "abandoned_phase", "agent_id", "conversation_id",
    "customer_id", "queue_time", "talk_time", "hold_time", "wrap_up_time", "ring_time",
    "abandon_time", "activity", "activity_time", "direction", "segment_order", "queue",
    "handling_team_id", "handling_department_id",
]  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # migrations run in one transaction: the segment references 0006 renamed are checked at
        # commit (deferred), and PostgreSQL builds no index on a table with such checks pending
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with op.batch_alter_table("segments") as batch_op:
        batch_op.drop_index("ix_segments_started_at")
        batch_op.create_index("ix_segments_started_at", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch_op:
        batch_op.drop_index("ix_segments_started_at")
        batch_op.create_index("ix_segments_started_at", ["started_at"], unique=False)
