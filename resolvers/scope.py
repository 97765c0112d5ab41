"""Row-level scope: which rows of each entity a viewer may see, as one SQL condition per entity.

Every data path restricts its rows here, and nowhere else: root pages and counts, nested pages and
counts, to-one lookups and `node`/`nodes` (all in `resolvers/pages.py`), filters on linked
entities (`resolvers/filters.py`) and metrics (`resolvers/metrics/`). A new data path gets the
condition with `visible(viewer, entity)` and adds it to its WHERE clause.

An entity without a rule here is invisible to every restricted viewer (deny by default), so a new
data set is safe until someone decides who may see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, false, null, select, true

from resolvers.entities import Entity
from resolvers.errors import BadInput
from resolvers.viewer import Role, Viewer
from warehouse import tables as t

Condition = ColumnElement[bool]

# reference data every signed-in viewer may read: names of the organisation and business hierarchy
# (what hangs below them, such as a team's agents or a queue's segments, is scoped by its own rule)
PUBLIC = frozenset({"Team", "Department", "Queue", "Campaign", "Project", "Initiative"})

# columns of an entity that are personal contact data, hidden from agents unless allowed
CONTACT_COLUMNS: dict[str, frozenset[str]] = {"Customer": frozenset({"phone", "email"})}


def visible_segments(viewer: Viewer) -> Condition:
    """The segments a viewer may see, as a condition on the `segments` table itself.

    Metrics use it directly, since every metric data set is read joined to its segments.
    """
    if viewer.role is Role.ADMIN:
        return true()
    if viewer.role is Role.AGENT:
        return t.segments.c.agent_id == viewer.agent_id if viewer.agent_id else false()
    if not viewer.team_ids:
        return false()
    return t.segments.c.handling_team_id.in_(sorted(viewer.team_ids))


def _segment_values(viewer: Viewer, column: str) -> Select[Any]:
    """`column` values of the visible segments, as an uncorrelated subquery (no outer capture)."""
    column_ = t.segments.c[column]
    return select(column_).where(visible_segments(viewer), column_.is_not(None)).correlate(None)


def _conversations(viewer: Viewer) -> Condition:
    return t.conversations.c.conversation_id.in_(_segment_values(viewer, "conversation_id"))


def _cases(viewer: Viewer) -> Condition:
    cases = select(t.conversations.c.case_id).where(_conversations(viewer)).correlate(None)
    return t.cases.c.case_id.in_(cases)


def _customers(viewer: Viewer) -> Condition:
    return t.customers.c.customer_id.in_(_segment_values(viewer, "customer_id"))


def _agents(viewer: Viewer) -> Condition:
    if viewer.role is Role.AGENT:
        return t.agents.c.agent_id == viewer.agent_id if viewer.agent_id else false()
    return t.agents.c.team_id.in_(sorted(viewer.team_ids)) if viewer.team_ids else false()


def _assessments(viewer: Viewer) -> Condition:
    if viewer.role is Role.AGENT:
        return t.assessments.c.agent_id == viewer.agent_id if viewer.agent_id else false()
    segments = t.assessments.c.segment_id.in_(_segment_values(viewer, "segment_id"))
    return segments | (t.assessments.c.supervisor_id == viewer.subject)


def _workload(viewer: Viewer) -> Condition:
    if viewer.role is Role.AGENT:
        return t.workload.c.agent_id == viewer.agent_id if viewer.agent_id else false()
    return t.workload.c.segment_id.in_(_segment_values(viewer, "segment_id"))


def _supervisors(viewer: Viewer) -> Condition:
    if viewer.role is Role.SUPERVISOR:
        return true()
    assessors = (
        select(t.assessments.c.supervisor_id)
        .where(_assessments(viewer), t.assessments.c.supervisor_id.is_not(None))
        .correlate(None)
    )
    return t.supervisors.c.supervisor_id.in_(assessors)


RULES: dict[str, Callable[[Viewer], Condition]] = {
    "Segment": visible_segments,
    "Conversation": _conversations,
    "Case": _cases,
    "Customer": _customers,
    "Agent": _agents,
    "Assessment": _assessments,
    "WorkloadItem": _workload,
    "Supervisor": _supervisors,
}


def visible(viewer: Viewer, ent: Entity | str) -> Condition:
    """The condition keeping the rows of `ent` that `viewer` may see (`true()` for admins)."""
    name = ent if isinstance(ent, str) else ent.name
    if viewer.role is Role.ADMIN or name in PUBLIC:
        return true()
    rule = RULES.get(name)
    return rule(viewer) if rule is not None else false()


def hidden_columns(viewer: Viewer, ent: Entity | str) -> frozenset[str]:
    """Columns of `ent` whose values this viewer gets as null (customers' contact data)."""
    name = ent if isinstance(ent, str) else ent.name
    if viewer.role is Role.AGENT and not viewer.show_contacts:
        return CONTACT_COLUMNS.get(name, frozenset())
    return frozenset()


def check_columns(viewer: Viewer, ent: Entity, columns: set[str], use: str) -> None:
    """Refuse filtering or ordering on hidden columns: either would reveal their values."""
    hidden = hidden_columns(viewer, ent) & columns
    if hidden:
        names = ", ".join(sorted(hidden))
        raise BadInput(
            f"Cannot {use} {ent.name} by {names}: hidden for your role.", code="FORBIDDEN"
        )


def visible_columns(viewer: Viewer, ent: Entity) -> list[ColumnElement[object]]:
    """The columns to select for `ent`: hidden ones replaced by NULL under the same name."""
    hidden = hidden_columns(viewer, ent)
    return [
        null().label(column.name) if column.name in hidden else column  # type: ignore[misc]
        for column in ent.table.columns
    ]
