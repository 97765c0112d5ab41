"""The root Query: a connection per data set, lookups by natural key, and `node`/`nodes`."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.entities import ENTITIES
from resolvers.errors import BadInput, NotVisible
from resolvers.ids import decode_global_id
from resolvers.pages import fetch_row
from schema.agent import Agent, Department, Team
from schema.assessment import Assessment, Supervisor
from schema.base import TYPES, Node, context, from_row
from schema.customer import Customer
from schema.dead_letter import ADMIN_ONLY, NOT_BY_NODE_ID
from schema.fields import connection_field
from schema.hierarchy import Campaign, Case, Conversation, Initiative, Project
from schema.metrics import MetricDefinition, definitions
from schema.queue import Queue
from schema.realtime import Realtime, realtime_field
from schema.report import report_field
from schema.segment import Segment
from schema.workload import WorkloadItem


async def lookup(info: Info, type_name: str, key: str) -> Any:
    """The entity of `type_name` with natural key `key`, or None.

    For a restricted viewer a missing row is also an error, worded the same whether the row does
    not exist or is out of their scope, so the answer never reveals which.
    """
    ctx = context(info)
    row = await fetch_row(ctx, ENTITIES[type_name], key)
    if row is None:
        if ctx.viewer.restricted:
            raise NotVisible(type_name, key)
        return None
    return from_row(TYPES[type_name], row)


def _key(description: str) -> Any:
    return strawberry.argument(description=description)


async def resolve_node(info: Info, global_id: str) -> Node | None:
    type_name, key = decode_global_id(global_id)
    if type_name not in TYPES or type_name in NOT_BY_NODE_ID:
        raise BadInput(f"Global id {global_id!r} names an unknown type {type_name!r}.")
    return await lookup(info, type_name, key)  # type: ignore[no-any-return]


@strawberry.type(description="Contact-center analytics over the Flex Insights data model.")
class Query:
    segments = connection_field("Segment", "All segments (conversation steps and agent status).")
    conversations = connection_field("Conversation", "All conversations.")
    cases = connection_field("Case", "All cases.")
    campaigns = connection_field("Campaign", "All campaigns.")
    projects = connection_field("Project", "All projects.")
    initiatives = connection_field("Initiative", "All initiatives.")
    agents = connection_field("Agent", "All agents.")
    teams = connection_field("Team", "All teams.")
    departments = connection_field("Department", "All departments.")
    customers = connection_field("Customer", "All customers.")
    supervisors = connection_field("Supervisor", "All supervisors.")
    assessments = connection_field("Assessment", "All assessments and comments.")
    workload = connection_field("WorkloadItem", "All 15-minute workload slices.")
    queues = connection_field("Queue", "All queues that segments waited in.")
    report = report_field()
    realtime: Realtime | None = realtime_field()

    @strawberry.field(description="The catalog of pre-defined metrics (fields of `Metrics`).")
    def metric_definitions(self) -> list[MetricDefinition] | None:
        return definitions()

    dead_letters = connection_field(
        "DeadLetter",
        "TaskRouter events the ingest rejected, with raw text and reason (administrators only).",
        permission_classes=ADMIN_ONLY,
    )

    @strawberry.field(description="Any entity by its global id; null when it does not exist.")
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, _key("A global id from an `id` field.")]
    ) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        description="Entities by global id, in the order asked; null for those that do not exist."
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], _key("Global ids from `id` fields (at most the page cap).")
        ],
    ) -> list[Node | None] | None:
        cap = context(info).options.max_page_size
        if len(ids) > cap:
            raise BadInput(f"`ids` has {len(ids)} ids, above the maximum of {cap}.")
        # awaitables, not values: an unreachable id gets its own error at its index
        return [resolve_node(info, i) for i in ids]  # type: ignore[misc]

    @strawberry.field(description="A segment by its natural key.")
    async def segment(
        self, info: Info, segment_id: Annotated[str, _key("The segment's `segmentId`.")]
    ) -> Segment | None:
        return await lookup(info, "Segment", segment_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A conversation by its natural key.")
    async def conversation(
        self, info: Info, conversation_id: Annotated[str, _key("The `conversationId`.")]
    ) -> Conversation | None:
        return await lookup(info, "Conversation", conversation_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A case by its natural key.")
    async def case(
        self, info: Info, case_id: Annotated[str, _key("The case's `caseId`.")]
    ) -> Case | None:
        return await lookup(info, "Case", case_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A campaign by its natural key.")
    async def campaign(
        self, info: Info, campaign_id: Annotated[str, _key("The campaign's `campaignId`.")]
    ) -> Campaign | None:
        return await lookup(info, "Campaign", campaign_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A project by its natural key.")
    async def project(
        self, info: Info, project_id: Annotated[str, _key("The project's `projectId`.")]
    ) -> Project | None:
        return await lookup(info, "Project", project_id)  # type: ignore[no-any-return]

    @strawberry.field(description="An initiative by its natural key.")
    async def initiative(
        self, info: Info, initiative_id: Annotated[str, _key("The `initiativeId`.")]
    ) -> Initiative | None:
        return await lookup(info, "Initiative", initiative_id)  # type: ignore[no-any-return]

    @strawberry.field(description="An agent by worker SID.")
    async def agent(
        self, info: Info, agent_id: Annotated[str, _key("The agent's `agentId` (worker SID).")]
    ) -> Agent | None:
        return await lookup(info, "Agent", agent_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A team by its natural key.")
    async def team(
        self, info: Info, team_id: Annotated[str, _key("The team's `teamId`.")]
    ) -> Team | None:
        return await lookup(info, "Team", team_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A department by its natural key.")
    async def department(
        self, info: Info, department_id: Annotated[str, _key("The `departmentId`.")]
    ) -> Department | None:
        return await lookup(info, "Department", department_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A customer by its natural key.")
    async def customer(
        self, info: Info, customer_id: Annotated[str, _key("The customer's `customerId`.")]
    ) -> Customer | None:
        return await lookup(info, "Customer", customer_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A supervisor by its natural key.")
    async def supervisor(
        self, info: Info, supervisor_id: Annotated[str, _key("The `supervisorId`.")]
    ) -> Supervisor | None:
        return await lookup(info, "Supervisor", supervisor_id)  # type: ignore[no-any-return]

    @strawberry.field(description="An assessment row by its natural key.")
    async def assessment(
        self, info: Info, assessment_id: Annotated[str, _key("The `assessmentId`.")]
    ) -> Assessment | None:
        return await lookup(info, "Assessment", assessment_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A workload slice by its natural key.")
    async def workload_item(
        self, info: Info, workload_id: Annotated[str, _key("The slice's `workloadId`.")]
    ) -> WorkloadItem | None:
        return await lookup(info, "WorkloadItem", workload_id)  # type: ignore[no-any-return]

    @strawberry.field(description="A queue by name.")
    async def queue(
        self, info: Info, name: Annotated[str, _key("The queue's name.")]
    ) -> Queue | None:
        return await lookup(info, "Queue", name)  # type: ignore[no-any-return]
