"""ingest state: open statuses and worker teams

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 22:36:11.788747
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_statuses",
        sa.Column("worker_sid", sa.String(), nullable=False),
        sa.Column("segment_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("worker_sid"),
    )
    op.create_table(
        "worker_teams",
        sa.Column("worker_sid", sa.String(), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=True),
        sa.Column("department_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("worker_sid", "since"),
    )
    # dead letters filed before fingerprints existed get one of their own (each stays distinct)
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(), nullable=True))
    op.execute(
        "UPDATE dead_letters SET fingerprint = 'legacy:' || CAST(dead_letter_id AS VARCHAR(20))"
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.String(), nullable=False)
        batch_op.create_unique_constraint("uq_dead_letters_fingerprint", ["fingerprint"])

    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.create_index("ix_segments_external_id", ["external_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_index("ix_segments_external_id")

    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_constraint("uq_dead_letters_fingerprint", type_="unique")
        batch_op.drop_column("fingerprint")

    op.drop_table("worker_teams")
    op.drop_table("open_statuses")
