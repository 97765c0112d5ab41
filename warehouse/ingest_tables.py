"""Tables the TaskRouter ingest keeps besides the data model: raw events, dead letters, team steps.

Derived rows (segments, workload, agents, ...) are rebuilt from the stored events of every task a
batch touches, so the raw events are the source of truth: storing them under a dedup key makes a
re-delivery a no-op and lets events arrive in any order. Dead letters keep what could not be
understood, so nothing sent to the gateway is silently lost.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from warehouse.tables import metadata, segments
from warehouse.types import EpochSeconds

events = Table(
    "events",
    metadata,
    # the event SID (`sid:EV…`), else `type|resource|timestamp_ms`: see `TaskRouterEvent.dedup_key`
    Column("dedup_key", String, primary_key=True),
    Column("event_type", String, nullable=False),
    Column("task_sid", String),
    Column("worker_sid", String),  # worker events only (reservations name theirs in `payload`)
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("has_worker_attributes", Boolean, nullable=False, default=False),
    # the normalised PascalCase payload, JSON: parsed again with `event_from_payload`
    Column("payload", Text, nullable=False),
    Column("source", String),
    Column("line", Integer),
    Column("received_at", EpochSeconds, nullable=False),
    Index("ix_events_task", "task_sid", "timestamp_ms"),
    Index("ix_events_worker", "worker_sid", "timestamp_ms"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("dead_letter_id", Integer, primary_key=True, autoincrement=True),
    # sha256 of source, line and raw text: re-running a file does not file its rejects twice
    Column("fingerprint", String, nullable=False, unique=True),
    Column("source", String),
    Column("line", Integer),
    Column("raw", Text, nullable=False),
    Column("reason", String, nullable=False),
    Column("received_at", EpochSeconds, nullable=False, index=True),
)

worker_teams = Table(
    "worker_teams",
    metadata,
    # a worker's team over time, one row per change: segments take the team at handling time
    Column("worker_sid", String, primary_key=True),
    Column("since", BigInteger, primary_key=True),
    Column("team_id", String),
    Column("department_id", String),
)

worker_attributes = Table(
    "worker_attributes",
    metadata,
    # each worker's latest attributes by event time, from whichever event kind carried them
    # (worker events and reservations): the agent row is rebuilt from this one event
    Column("worker_sid", String, primary_key=True),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("dedup_key", String, nullable=False),
    Column("payload", Text, nullable=False),
)

open_statuses = Table(
    "open_statuses",
    metadata,
    # each worker's AGENT_STATUS_IN_PROGRESS segment, found by key instead of by scanning segments
    Column("worker_sid", String, primary_key=True),
    Column("segment_id", String, nullable=False),
)

# a task's segments carry its SID in `external_id`: rebuilding a task finds them by it
Index("ix_segments_external_id", segments.c.external_id)
