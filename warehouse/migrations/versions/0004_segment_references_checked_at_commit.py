"""Segment references checked at commit

The ingest rebuilds a task's segments (delete, then insert the same ids) in one transaction;
assessments, workload slices and the `precededBy` chain pointing at them are checked at commit.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, column) of each reference to segments.segment_id
REFERENCES = (
    ("assessments", "segment_id"),
    ("segments", "preceded_by_id"),
    ("workload", "segment_id"),
)
# SQLite's constraints have no names: batch mode names them by this convention to drop them
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _set(deferred: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        timing = "DEFERRABLE INITIALLY DEFERRED" if deferred else "NOT DEFERRABLE"
        for table, column in REFERENCES:
            op.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {table}_{column}_fkey {timing}")
        return
    for table, column in REFERENCES:
        name = f"fk_{table}_{column}_segments"
        with op.batch_alter_table(table, naming_convention=SQLITE_NAMES) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")
            batch_op.create_foreign_key(
                name, "segments", [column], ["segment_id"],
                deferrable=True if deferred else None, initially="DEFERRED" if deferred else None,
            )  # fmt: skip


def upgrade() -> None:
    _set(deferred=True)


def downgrade() -> None:
    _set(deferred=False)
