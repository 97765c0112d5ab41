"""WorkloadItem: segments cut into 15-minute slices for intraday reports."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.base import Node, node_type
from schema.enums import WorkloadKind
from schema.fields import date_field, to_one_field

F = strawberry.field


@node_type
@strawberry.type(
    description="A 15-minute slice of a Conversation or Agent Status segment, so intraday "
    "reports put time where it was spent."
)
class WorkloadItem(Node):
    workload_id: str = F(description="Natural key of the slice: `<segmentId>:<order>`.")
    order: int = F(description="Slice number within its segment, from 1.")
    kind: WorkloadKind = F(description="Kind of segment the slice was cut from.")
    activity: str | None = F(description="Agent activity (Agent Status slices).")
    interval_start: datetime = F(description="Start of the quarter hour (UTC).")
    talk_time: int = F(description="Talk seconds within this quarter hour.")
    wrap_up_time: int = F(description="Wrap-up seconds within this quarter hour.")
    activity_time: int = F(description="Activity seconds within this quarter hour.")
    parallel_conversations: int = F(
        description="Conversations the agent was handling during this quarter hour."
    )
    segment_id: strawberry.Private[str]
    agent_id: strawberry.Private[str | None]

    date = date_field("interval_start", "The slice's quarter hour as a date dimension.")
    segment = to_one_field("WorkloadItem", "segment", description="The segment sliced.")
    agent = to_one_field("WorkloadItem", "agent", description="The agent of the segment.")
