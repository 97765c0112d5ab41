"""Tables the TaskRouter ingest keeps besides the data model: raw events and dead letters.

Derived rows (segments, workload, agents, ...) are rebuilt from the stored events of every task and
worker a batch touches, so the raw events are the source of truth: storing them under a dedup key
makes a re-delivery a no-op and lets events arrive in any order. Dead letters keep what could not
be understood, so nothing sent to the gateway is silently lost.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from warehouse.tables import metadata
from warehouse.types import EpochSeconds

events = Table(
    "events",
    metadata,
    # the event SID (`sid:EV…`), else `type|resource|timestamp_ms`: see `TaskRouterEvent.dedup_key`
    Column("dedup_key", String, primary_key=True),
    Column("event_type", String, nullable=False),
    Column("task_sid", String),
    Column("worker_sid", String),
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
    Column("source", String),
    Column("line", Integer),
    Column("raw", Text, nullable=False),
    Column("reason", String, nullable=False),
    Column("received_at", EpochSeconds, nullable=False, index=True),
)
