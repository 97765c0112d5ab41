"""The registry of data sets: which table holds an entity and how entities link.

Everything generic (filters, ordering, pages, loaders) reads this registry, so adding a link is
one entry here and one field in `schema/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Table

from warehouse import tables as t
from warehouse.ingest_tables import dead_letters


@dataclass(frozen=True)
class ToOne:
    """A link from a child row to one parent row, through the child's foreign-key column."""

    column: str
    target: str


@dataclass(frozen=True)
class ToMany:
    """A link from a parent to a page of target rows.

    Direct links have a foreign-key column on the target table (`via_column`). Links through
    another table (an agent's conversations through their segments) name that table and its two
    columns: the one holding the parent key and the one holding the target key.
    """

    target: str
    via_column: str | None = None
    through: Table | None = None
    through_parent: str | None = None
    through_target: str | None = None
    order: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class Entity:
    """One data set: its GraphQL type name, table, natural key and links."""

    name: str
    table: Table
    key: str
    to_one: dict[str, ToOne] = field(default_factory=dict)
    to_many: dict[str, ToMany] = field(default_factory=dict)
    # default order as (column, descending); the key is always appended as the tie-breaker
    order: tuple[tuple[str, bool], ...] = ()

    @property
    def key_column(self) -> ColumnElement[str]:
        return self.table.c[self.key]


_BY_TIME = (("started_at", False),)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        Entity(
            "Initiative",
            t.initiatives,
            "initiative_id",
            to_many={"projects": ToMany("Project", "initiative_id")},
        ),
        Entity(
            "Project",
            t.projects,
            "project_id",
            to_one={"initiative": ToOne("initiative_id", "Initiative")},
            to_many={"campaigns": ToMany("Campaign", "project_id")},
        ),
        Entity(
            "Campaign",
            t.campaigns,
            "campaign_id",
            to_one={"project": ToOne("project_id", "Project")},
            to_many={
                "cases": ToMany("Case", "campaign_id"),
                "conversations": ToMany("Conversation", "campaign_id"),
            },
        ),
        Entity(
            "Case",
            t.cases,
            "case_id",
            to_one={"campaign": ToOne("campaign_id", "Campaign")},
            to_many={"conversations": ToMany("Conversation", "case_id")},
        ),
        Entity(
            "Conversation",
            t.conversations,
            "conversation_id",
            to_one={
                "customer": ToOne("customer_id", "Customer"),
                "case": ToOne("case_id", "Case"),
                "campaign": ToOne("campaign_id", "Campaign"),
            },
            to_many={
                "segments": ToMany(
                    "Segment",
                    "conversation_id",
                    order=(("segment_order", False), ("started_at", False)),
                )
            },
            order=_BY_TIME,
        ),
        Entity(
            "Segment",
            t.segments,
            "segment_id",
            to_one={
                "conversation": ToOne("conversation_id", "Conversation"),
                "agent": ToOne("agent_id", "Agent"),
                "customer": ToOne("customer_id", "Customer"),
                "handling_team": ToOne("handling_team_id", "Team"),
                "handling_department": ToOne("handling_department_id", "Department"),
                "preceded_by": ToOne("preceded_by_id", "Segment"),
            },
            to_many={
                "assessments": ToMany("Assessment", "segment_id"),
                "workload": ToMany("WorkloadItem", "segment_id", order=(("order", False),)),
            },
            order=_BY_TIME,
        ),
        Entity(
            "Agent",
            t.agents,
            "agent_id",
            to_one={
                "team": ToOne("team_id", "Team"),
                "department": ToOne("department_id", "Department"),
            },
            to_many={
                "segments": ToMany("Segment", "agent_id"),
                "conversations": ToMany(
                    "Conversation",
                    through=t.segments,
                    through_parent="agent_id",
                    through_target="conversation_id",
                ),
                "assessments": ToMany("Assessment", "agent_id"),
                "workload": ToMany("WorkloadItem", "agent_id"),
            },
        ),
        Entity(
            "Team",
            t.teams,
            "team_id",
            to_one={"department": ToOne("department_id", "Department")},
            to_many={
                "agents": ToMany("Agent", "team_id"),
                "segments": ToMany("Segment", "handling_team_id"),
            },
        ),
        Entity(
            "Department",
            t.departments,
            "department_id",
            to_many={
                "teams": ToMany("Team", "department_id"),
                "agents": ToMany("Agent", "department_id"),
                "segments": ToMany("Segment", "handling_department_id"),
            },
        ),
        Entity(
            "Queue",
            t.queues,
            "name",
            to_many={
                "segments": ToMany("Segment", "queue"),
                "conversations": ToMany(
                    "Conversation",
                    through=t.segments,
                    through_parent="queue",
                    through_target="conversation_id",
                ),
            },
        ),
        Entity(
            "Customer",
            t.customers,
            "customer_id",
            to_many={
                "conversations": ToMany("Conversation", "customer_id"),
                "segments": ToMany("Segment", "customer_id"),
            },
        ),
        Entity(
            "Supervisor",
            t.supervisors,
            "supervisor_id",
            to_many={"assessments": ToMany("Assessment", "supervisor_id")},
        ),
        Entity(
            "Assessment",
            t.assessments,
            "assessment_id",
            to_one={
                "segment": ToOne("segment_id", "Segment"),
                "agent": ToOne("agent_id", "Agent"),
                "supervisor": ToOne("supervisor_id", "Supervisor"),
            },
            order=(("created_at", False),),
        ),
        Entity(
            "WorkloadItem",
            t.workload,
            "workload_id",
            to_one={"segment": ToOne("segment_id", "Segment"), "agent": ToOne("agent_id", "Agent")},
            order=(("interval_start", False),),
        ),
        Entity("DeadLetter", dead_letters, "dead_letter_id"),
    ]
}


def entity(name: str) -> Entity:
    return ENTITIES[name]
