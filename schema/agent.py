"""Agent, Team and Department: who handled the conversations, and how they are organised."""

from __future__ import annotations

from datetime import date

import strawberry

from resolvers.metrics.dimensions import Dimension
from schema.base import Node, node_type
from schema.fields import connection_field, to_one_field
from schema.metrics import metrics_field

F = strawberry.field


@node_type
@strawberry.type(description="A TaskRouter worker who handled conversations.")
class Agent(Node):
    agent_id: str = F(description="Natural key: the TaskRouter worker SID.")
    external_agent_id: str | None = F(description="The center's own id for the agent.")
    full_name: str | None = F(description="Full name.")
    email: str | None = F(description="E-mail address.")
    phone: str | None = F(description="Phone number.")
    location: str | None = F(description="Where the agent works.")
    manager: str | None = F(description="The agent's manager.")
    role: str | None = F(description="The agent's role.")
    state: str | None = F(description="`Active`, or `Deleted` once the worker was removed.")
    agent_attribute_1: str | None = F(description="Custom agent attribute 1.")
    agent_attribute_2: str | None = F(description="Custom agent attribute 2.")
    agent_attribute_3: str | None = F(description="Custom agent attribute 3.")
    date_joined: date | None = F(description="Date the agent joined.")
    date_left: date | None = F(description="Date the agent left, if they did.")
    team_id: strawberry.Private[str | None]
    department_id: strawberry.Private[str | None]

    team = to_one_field("Agent", "team", description="The agent's current team.")
    department = to_one_field("Agent", "department", description="The current department.")
    segments = connection_field(
        "Segment", "Segments this agent handled or was in.", owner="Agent", link="segments"
    )
    conversations = connection_field(
        "Conversation",
        "Conversations in which this agent had at least one segment.",
        owner="Agent",
        link="conversations",
    )
    assessments = connection_field(
        "Assessment",
        "Assessments and comments this agent received.",
        owner="Agent",
        link="assessments",
    )
    workload = connection_field(
        "WorkloadItem", "This agent's 15-minute workload slices.", owner="Agent", link="workload"
    )
    metrics = metrics_field(
        "Agent",
        Dimension.AGENT,
        "Metrics over the segments this agent handled (workload and assessments by agent).",
    )


@node_type
@strawberry.type(description="A team of agents.")
class Team(Node):
    team_id: str = F(description="Natural key of the team.")
    name: str = F(description="Name of the team.")
    name_in_hierarchy: str | None = F(
        description="Full path of the team, e.g. `London ▸ Sales ▸ Sales 2`."
    )
    department_id: strawberry.Private[str | None]

    department = to_one_field("Team", "department", description="The team's department.")
    agents = connection_field(
        "Agent", "Agents currently in this team.", owner="Team", link="agents"
    )
    segments = connection_field(
        "Segment",
        "Segments handled while their agent was in this team (the reverse of `handlingTeam`).",
        owner="Team",
        link="segments",
    )
    metrics = metrics_field(
        "Team",
        Dimension.HANDLING_TEAM,
        "Metrics over the segments handled while agents were in this team.",
    )


@node_type
@strawberry.type(description="A department: a group of teams.")
class Department(Node):
    department_id: str = F(description="Natural key of the department.")
    name: str = F(description="Name of the department.")
    name_in_hierarchy: str | None = F(
        description="Full path of the department, e.g. `London ▸ Sales`."
    )

    teams = connection_field("Team", "Teams of this department.", owner="Department", link="teams")
    agents = connection_field(
        "Agent", "Agents currently in this department.", owner="Department", link="agents"
    )
    segments = connection_field(
        "Segment",
        "Segments handled while their agent was in this department (the reverse of "
        "`handlingDepartment`).",
        owner="Department",
        link="segments",
    )
    metrics = metrics_field(
        "Department",
        Dimension.HANDLING_DEPARTMENT,
        "Metrics over the segments handled while agents were in this department.",
    )
