"""The boards' indexes (agent, team, queue) hold the columns the metrics read

A board of agents, teams or queues with their metrics found each key's segments in the index on
(key, `started_at`), then read each segment's row by rowid; with the metrics' columns in the index
it reads the index alone.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# frozen here: `warehouse.tables.METRIC_COLUMNS` at this revision (as in 0007)
METRIC_COLUMNS = [
    "kind", "abandoned", "abandoned_phase", "agent_id", "conversation_id", "customer_id",
    "queue_time", "talk_time", "hold_time", "wrap_up_time", "ring_time", "abandon_time",
    "activity", "activity_time", "direction", "segment_order",
    "queue", "handling_team_id", "handling_department_id",
]  # fmt: skip
COVERING = {
    name: [key, "started_at", *(c for c in METRIC_COLUMNS if c != key)]
    for name, key in (
        ("ix_segments_agent", "agent_id"),
        ("ix_segments_handling_team", "handling_team_id"),
        ("ix_segments_queue", "queue"),
    )
}
NARROW = {name: columns[:2] for name, columns in COVERING.items()}


def _rebuild(indexes: dict[str, list[str]]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as in 0007: no index with checks pending
    with op.batch_alter_table("segments") as batch_op:
        for name, columns in indexes.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)


def upgrade() -> None:
    _rebuild(COVERING)


def downgrade() -> None:
    _rebuild(NARROW)
