"""Conversation, Case, Campaign, Project and Initiative: the business hierarchy above segments."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.metrics.dimensions import Dimension
from schema.base import Node, node_type
from schema.enums import Direction
from schema.fields import connection_field, date_field, to_one_field
from schema.metrics import metrics_field

F = strawberry.field


@node_type
@strawberry.type(description="The set of segments that handled one customer contact.")
class Conversation(Node):
    conversation_id: str = F(description="Natural key of the conversation.")
    direction: Direction | None = F(description="Direction, from the first segment.")
    started_at: datetime | None = F(description="Start of the first segment (UTC).")
    ended_at: datetime | None = F(description="End of the last segment (UTC).")
    customer_id: strawberry.Private[str | None]
    case_id: strawberry.Private[str | None]
    campaign_id: strawberry.Private[str | None]

    date = date_field("started_at", "The start as a date dimension (workspace time zone).")
    customer = to_one_field("Conversation", "customer", description="The customer served.")
    case = to_one_field("Conversation", "case", description="The case this conversation is about.")
    campaign = to_one_field(
        "Conversation", "campaign", description="The campaign (also set without a case)."
    )
    segments = connection_field(
        "Segment",
        "The segments of this conversation, ordered by `segmentOrder`, then `startedAt` "
        "(segments without an order, such as queue segments, after those with one).",
        owner="Conversation",
        link="segments",
    )
    metrics = metrics_field(
        "Conversation", Dimension.CONVERSATION, "Metrics over this conversation's segments."
    )


@node_type
@strawberry.type(description="Conversations about one issue, inquiry or sale.")
class Case(Node):
    case_id: str = F(description="Natural key of the case.")
    name: str = F(description="Name of the case.")
    campaign_id: strawberry.Private[str | None]

    campaign = to_one_field("Case", "campaign", description="The campaign the case belongs to.")
    conversations = connection_field(
        "Conversation", "Conversations about this case.", owner="Case", link="conversations"
    )
    metrics = metrics_field(
        "Case", Dimension.CASE, "Metrics over the segments of this case's conversations."
    )


@node_type
@strawberry.type(description="A campaign: cases and conversations run for one purpose.")
class Campaign(Node):
    campaign_id: str = F(description="Natural key of the campaign.")
    name: str = F(description="Name of the campaign.")
    project_id: strawberry.Private[str | None]

    project = to_one_field("Campaign", "project", description="The project running it.")
    cases = connection_field("Case", "Cases of this campaign.", owner="Campaign", link="cases")
    conversations = connection_field(
        "Conversation",
        "Conversations of this campaign, with or without a case.",
        owner="Campaign",
        link="conversations",
    )
    metrics = metrics_field(
        "Campaign",
        Dimension.CAMPAIGN,
        "Metrics over the segments of this campaign's conversations.",
    )


@node_type
@strawberry.type(description="A project: a group of campaigns within an initiative.")
class Project(Node):
    project_id: str = F(description="Natural key of the project.")
    name: str = F(description="Name of the project.")
    initiative_id: strawberry.Private[str | None]

    initiative = to_one_field("Project", "initiative", description="The initiative above it.")
    campaigns = connection_field(
        "Campaign", "Campaigns of this project.", owner="Project", link="campaigns"
    )
    metrics = metrics_field(
        "Project", Dimension.PROJECT, "Metrics over the segments of this project's campaigns."
    )


@node_type
@strawberry.type(description="The top-level business initiative.")
class Initiative(Node):
    initiative_id: str = F(description="Natural key of the initiative.")
    name: str = F(description="Name of the initiative.")

    projects = connection_field(
        "Project", "Projects of this initiative.", owner="Initiative", link="projects"
    )
    metrics = metrics_field(
        "Initiative",
        Dimension.INITIATIVE,
        "Metrics over the segments of this initiative's projects.",
    )
