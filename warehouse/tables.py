"""The warehouse tables (SQLAlchemy Core).

Column names are the snake_case forms of the GraphQL field names in DATA_MODEL.md, so the
resolver layer can map a field to its column without a lookup table. Enumerated values are stored
as their GraphQL enum names (`CONVERSATION`, `INBOUND`, `YES`). Instants are `EpochSeconds`.
Indexes follow the access paths: every foreign key (batched loaders) and the time columns that
filters, ordering and reports use.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from warehouse.types import EpochSeconds

metadata = MetaData()


def _segment_reference() -> ForeignKey:
    """A reference to a segment, checked at commit rather than per statement.

    The ingest rebuilds a task's segments (delete, then insert the same ids) inside one
    transaction; assessments, slices and the `precededBy` chain that point at them must not stop
    that half-way (PostgreSQL checks immediate references after each statement).
    """
    return ForeignKey("segments.segment_id", deferrable=True, initially="DEFERRED")


def _numbered(prefix: str, count: int, type_: type[String] | type[Float]) -> list[Column[object]]:
    return [Column(f"{prefix}_{i}", type_()) for i in range(1, count + 1)]


initiatives = Table(
    "initiatives",
    metadata,
    Column("initiative_id", String, primary_key=True),
    Column("name", String, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("project_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("initiative_id", String, ForeignKey("initiatives.initiative_id"), index=True),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("project_id", String, ForeignKey("projects.project_id"), index=True),
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("campaign_id", String, ForeignKey("campaigns.campaign_id"), index=True),
)

departments = Table(
    "departments",
    metadata,
    Column("department_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("name_in_hierarchy", String),
)

teams = Table(
    "teams",
    metadata,
    Column("team_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("name_in_hierarchy", String),
    Column("department_id", String, ForeignKey("departments.department_id"), index=True),
)

agents = Table(
    "agents",
    metadata,
    Column("agent_id", String, primary_key=True),
    Column("external_agent_id", String),
    Column("full_name", String),
    Column("email", String),
    Column("phone", String),
    Column("location", String),
    Column("manager", String),
    Column("role", String),
    Column("state", String),
    *_numbered("agent_attribute", 3, String),
    Column("date_joined", Date),
    Column("date_left", Date),
    Column("team_id", String, ForeignKey("teams.team_id"), index=True),
    Column("department_id", String, ForeignKey("departments.department_id"), index=True),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String, primary_key=True),
    Column("name", String),
    Column("phone", String, index=True),
    Column("email", String, index=True),
    Column("customer_link", String),
    *_numbered("customer_attribute", 3, String),
    Column("acquisition_date", Date),
    Column("category", String),
    Column("customer_manager", String),
    Column("gender", String),
    Column("market_segment", String),
    Column("organization", String),
    Column("year_of_birth", Integer),
    Column("region", String),
    Column("country", String),
    Column("state", String),
    Column("city", String),
    Column("zip", String),
    Column("geo_location", String),
    Column("type", String),
    Column("acquisition_cost", Float),
    Column("business_value", Float),
)

supervisors = Table(
    "supervisors",
    metadata,
    Column("supervisor_id", String, primary_key=True),
    Column("name", String),
    Column("email", String),
)

queues = Table(
    "queues",
    metadata,
    Column("name", String, primary_key=True),
)

conversations = Table(
    "conversations",
    metadata,
    Column("conversation_id", String, primary_key=True),
    Column("direction", String),
    Column("started_at", EpochSeconds, index=True),
    Column("ended_at", EpochSeconds),
    Column("customer_id", String, ForeignKey("customers.customer_id"), index=True),
    Column("case_id", String, ForeignKey("cases.case_id"), index=True),
    Column("campaign_id", String, ForeignKey("campaigns.campaign_id"), index=True),
)

# the segment columns the metrics read (`resolvers/metrics/catalog.py`; a test keeps the two in
# step) and the dimensions they are most often grouped by and scoped on, after `started_at` in
# `ix_segments_started_at`
METRIC_COLUMNS = (
    "kind", "abandoned", "abandoned_phase", "agent_id", "conversation_id", "customer_id",
    "queue_time", "talk_time", "hold_time", "wrap_up_time", "ring_time", "abandon_time",
    "activity", "activity_time", "direction", "segment_order",
    "queue", "handling_team_id", "handling_department_id",
)  # fmt: skip


def _covering(*leading: str) -> list[str]:
    """An index's columns: `leading`, `started_at`, then the rest of `METRIC_COLUMNS`."""
    return [*leading, "started_at", *(c for c in METRIC_COLUMNS if c not in leading)]


segments = Table(
    "segments",
    metadata,
    Column("segment_id", String, primary_key=True),
    Column("external_id", String),
    Column("kind", String, nullable=False),
    Column("abandoned", String, nullable=False, default="NO"),
    Column("abandoned_phase", String),
    Column("activity", String),
    Column("communication_channel", String),
    Column("content", Text),
    *_numbered("conversation_attribute", 10, String),
    Column("destination", String),
    Column("source", String),
    Column("direction", String),
    Column("external_contact", String),
    Column("hang_up_by", String),
    Column("in_business_hours", Boolean),
    Column("initiated_by", String),
    Column("ivr_path", String),
    Column("language", String),
    Column("outcome", String),
    Column("productive", Boolean),
    Column("queue", String),
    Column("segment_link", String),
    Column("segment_order", Integer),
    Column("service_level", String),
    Column("virtual", Boolean, nullable=False, default=True),
    Column("workflow", String),
    Column("started_at", EpochSeconds, nullable=False),
    # facts, whole seconds unless noted
    Column("abandon_time", Integer),
    Column("activity_time", Integer),
    Column("agent_talk_time", Integer),
    Column("average_response_time", Integer),
    *_numbered("conversation_measure", 10, Float),
    Column("crosstalk_time", Integer),
    Column("customer_talk_time", Integer),
    Column("first_response_time", Integer),
    Column("focus_time", Integer),
    Column("hold_time", Integer),
    Column("ivr_time", Integer),
    Column("longest_silence_before_agent", Integer),
    Column("longest_silence_before_customer", Integer),
    Column("longest_talk_by_agent", Integer),
    Column("longest_talk_by_customer", Integer),
    Column("priority", Integer),
    Column("queue_time", Integer),
    Column("ring_time", Integer),
    Column("silence_time", Integer),
    Column("talk_time", Integer),
    Column("time_in_seconds", Integer),
    Column("wrap_up_time", Integer),
    # links
    Column("conversation_id", String, ForeignKey("conversations.conversation_id")),
    Column("agent_id", String, ForeignKey("agents.agent_id")),
    Column("customer_id", String, ForeignKey("customers.customer_id")),
    Column("handling_team_id", String, ForeignKey("teams.team_id")),
    Column("handling_department_id", String, ForeignKey("departments.department_id")),
    Column("preceded_by_id", String, _segment_reference()),
    Index("ix_segments_conversation", "conversation_id", "segment_order", "started_at"),
    # the boards' groupings hold the metrics' columns too: a board of agents, teams or queues
    # reads its keys' segments from the index alone (the queue board: 117 -> 67 ms)
    Index("ix_segments_agent", *_covering("agent_id")),
    Index("ix_segments_customer", "customer_id", "started_at"),
    Index("ix_segments_handling_team", *_covering("handling_team_id")),
    Index("ix_segments_handling_department", "handling_department_id", "started_at"),
    Index("ix_segments_queue", *_covering("queue")),
    Index("ix_segments_kind", "kind", "started_at"),
    # every segment metric reads only `METRIC_COLUMNS`: a report or total over a time range
    # reads this index alone, not each segment's ~70 columns by rowid (the intraday report: 81
    # -> 48 ms on a million segments)
    Index("ix_segments_started_at", *_covering()),
    Index("ix_segments_preceded_by", "preceded_by_id"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("assessment_id", String, primary_key=True),
    Column("type", String, nullable=False),
    Column("segment_id", String, _segment_reference(), index=True),
    Column("agent_id", String, ForeignKey("agents.agent_id"), index=True),
    Column("supervisor_id", String, ForeignKey("supervisors.supervisor_id"), index=True),
    Column("questionnaire", String),
    Column("category", String),
    Column("question", String),
    Column("answer", String),
    Column("comment", Text),
    Column("score", Float),
    Column("score_max", Float),
    Column("score_percentage", Float),
    Column("weight", Float),
    Column("offset", Integer),
    Column("created_at", EpochSeconds, nullable=False, index=True),
)

workload = Table(
    "workload",
    metadata,
    # `<segmentId>:<order>`: a single-column key keeps cursors and global ids uniform.
    Column("workload_id", String, primary_key=True),
    Column("segment_id", String, _segment_reference(), nullable=False),
    Column("order", Integer, nullable=False),
    Column("agent_id", String, ForeignKey("agents.agent_id")),
    Column("kind", String, nullable=False),
    Column("activity", String),
    Column("interval_start", EpochSeconds, nullable=False),
    Column("talk_time", Integer, nullable=False, default=0),
    Column("wrap_up_time", Integer, nullable=False, default=0),
    Column("activity_time", Integer, nullable=False, default=0),
    Column("parallel_conversations", Integer, nullable=False, default=0),
    Index("ix_workload_segment", "segment_id", "order"),
    Index("ix_workload_agent", "agent_id", "interval_start"),
    Index("ix_workload_interval", "interval_start"),
)
