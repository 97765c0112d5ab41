"""Worker attributes from any event; agent status segments keyed by change, not by second

`worker_attributes` keeps each worker's latest attributes by event time, whichever event kind
brought them (filled here from the stored worker events). Agent status segments were
`<worker>-<epoch start>`, which two changes in one second (or one change delivered twice) shared;
they become `<worker>-<start epoch ms>-<8 hex digits of activity and duration>`, renamed here
together with what points at them (workload slices, assessments, the open status).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STATUS_KINDS = ("AGENT_STATUS", "AGENT_STATUS_IN_PROGRESS")


def _status_id(worker: str, start_ms: int, activity: str | None, spent: int | None) -> str:
    """The scheme of `warehouse.derive.status_segment_id` at this revision (frozen here)."""
    shown = "" if spent is None else str(spent)
    digest = hashlib.sha256(f"{activity}\0{shown}".encode()).hexdigest()[:8]
    return f"{worker}-{start_ms}-{digest}"


def _backfill_attributes() -> None:
    op.execute(
        """
        INSERT INTO worker_attributes (worker_sid, timestamp_ms, dedup_key, payload)
        SELECT worker_sid, timestamp_ms, dedup_key, payload FROM (
            SELECT worker_sid, timestamp_ms, dedup_key, payload,
                   ROW_NUMBER() OVER (PARTITION BY worker_sid
                                      ORDER BY timestamp_ms DESC, dedup_key DESC) AS r
            FROM events
            WHERE has_worker_attributes AND worker_sid IS NOT NULL
        ) ranked
        WHERE r = 1
        """
    )


def _rename_statuses(new_ids: bool) -> None:
    bind = op.get_bind()
    found = bind.execute(
        sa.text(
            "SELECT segment_id, agent_id, activity, activity_time, started_at, kind "
            "FROM segments WHERE kind IN ('AGENT_STATUS', 'AGENT_STATUS_IN_PROGRESS')"
        )
    ).all()
    renames = []
    for segment_id, agent, activity, spent, started, kind in found:
        if new_ids:
            open_ = kind == "AGENT_STATUS_IN_PROGRESS"
            target = _status_id(agent, int(started) * 1000, activity, None if open_ else spent)
        else:
            target = f"{agent}-{int(started)}"
        if target != segment_id:
            renames.append({"old": segment_id, "new": target})
    if not renames:
        return
    for statement in (
        "UPDATE segments SET segment_id = :new WHERE segment_id = :old",
        "UPDATE workload SET segment_id = :new, "
        "workload_id = CAST(:new AS VARCHAR) "
        "|| substr(workload_id, length(CAST(:old AS VARCHAR)) + 1) WHERE segment_id = :old",
        "UPDATE assessments SET segment_id = :new WHERE segment_id = :old",
        "UPDATE open_statuses SET segment_id = :new WHERE segment_id = :old",
    ):
        bind.execute(sa.text(statement), renames)


def upgrade() -> None:
    op.create_table(
        "worker_attributes",
        sa.Column("worker_sid", sa.String(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("dedup_key", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("worker_sid"),
    )
    _backfill_attributes()
    _rename_statuses(new_ids=True)


def downgrade() -> None:
    _rename_statuses(new_ids=False)
    op.drop_table("worker_attributes")
