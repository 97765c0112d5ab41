"""Queue: derived from the segments' `queue` values, because supervisors think in queues."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.metrics.dimensions import Dimension
from schema.base import Node, context, node_type
from schema.fields import connection_field
from schema.metrics import metrics_field


@node_type
@strawberry.type(description="A TaskRouter queue, as named on the segments that waited in it.")
class Queue(Node):
    name: str = strawberry.field(description="Name of the queue; its natural key.")

    segments = connection_field(
        "Segment", "Segments whose `queue` is this queue.", owner="Queue", link="segments"
    )
    conversations = connection_field(
        "Conversation",
        "Conversations with at least one segment in this queue.",
        owner="Queue",
        link="conversations",
    )
    metrics = metrics_field("Queue", Dimension.QUEUE, "Metrics over the segments of this queue.")

    @strawberry.field(
        description="Seconds in queue within which an answer meets this queue's SLA: its entry in "
        "the per-queue thresholds setting, else the workspace threshold. A metric's "
        "`slaThreshold:` argument still overrides it for that field."
    )
    def sla_threshold(self, info: Info) -> int:
        return context(info).options.thresholds.sla_for(self.name)
