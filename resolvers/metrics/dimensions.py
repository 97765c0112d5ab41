"""Report dimensions: what a metric can be grouped by, per data set, as SQL expressions.

Every data set is read joined to its segments, so segment attributes reach workload slices and
assessments; time dimensions use the data set's own time column in the workspace time zone.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, ColumnElement, FromClause

from resolvers.entities import ENTITIES, Entity
from resolvers.metrics.catalog import DataSet
from resolvers.metrics.timebuckets import DAY, calendar_bucket, local_seconds
from resolvers.scope import check_columns
from resolvers.viewer import Viewer
from warehouse import tables as t


class Dimension(enum.Enum):
    AGENT = "agent"
    TEAM = "team"
    HANDLING_TEAM = "handlingTeam"
    DEPARTMENT = "department"
    HANDLING_DEPARTMENT = "handlingDepartment"
    QUEUE = "queue"
    CHANNEL = "channel"
    DIRECTION = "direction"
    KIND = "kind"
    ACTIVITY = "activity"
    WORKFLOW = "workflow"
    OUTCOME = "outcome"
    CUSTOMER = "customer"
    CONVERSATION = "conversation"  # scopes Conversation.metrics; not offered to reports
    CASE = "case"
    CAMPAIGN = "campaign"
    PROJECT = "project"
    INITIATIVE = "initiative"
    DATE = "date"
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    WEEK = "week"
    DAY_OF_WEEK = "dayOfWeek"
    HOUR = "hour"
    INTERVAL_30_MINUTES = "interval30Minutes"
    INTERVAL_15_MINUTES = "interval15Minutes"


TIME_DIMENSIONS = frozenset(
    {
        Dimension.DATE, Dimension.YEAR, Dimension.QUARTER, Dimension.MONTH, Dimension.WEEK,
        Dimension.DAY_OF_WEEK, Dimension.HOUR, Dimension.INTERVAL_30_MINUTES,
        Dimension.INTERVAL_15_MINUTES,
    }
)  # fmt: skip

# the table each data set counts rows of, and its time column
ROWS: dict[DataSet, Any] = {
    DataSet.SEGMENTS: t.segments,
    DataSet.WORKLOAD: t.workload,
    DataSet.ASSESSMENTS: t.assessments,
}
TIME: dict[DataSet, ColumnElement[Any]] = {
    DataSet.SEGMENTS: t.segments.c.started_at,
    DataSet.WORKLOAD: t.workload.c.interval_start,
    DataSet.ASSESSMENTS: t.assessments.c.created_at,
}

# the agent of a row of each data set (the same agent as its segment's)
_AGENT = {
    DataSet.SEGMENTS: t.segments.c.agent_id,
    DataSet.WORKLOAD: t.workload.c.agent_id,
    DataSet.ASSESSMENTS: t.assessments.c.agent_id,
}

s = t.segments.c
ATTRIBUTES: dict[Dimension, Callable[[DataSet], ColumnElement[Any] | None]] = {
    Dimension.AGENT: lambda d: _AGENT[d],
    Dimension.TEAM: lambda d: t.agents.c.team_id,
    Dimension.HANDLING_TEAM: lambda d: s.handling_team_id,
    Dimension.DEPARTMENT: lambda d: t.agents.c.department_id,
    Dimension.HANDLING_DEPARTMENT: lambda d: s.handling_department_id,
    Dimension.QUEUE: lambda d: s.queue,
    Dimension.CHANNEL: lambda d: s.communication_channel,
    Dimension.DIRECTION: lambda d: s.direction,
    Dimension.KIND: lambda d: t.workload.c.kind if d is DataSet.WORKLOAD else s.kind,
    # assessed segments are conversations, which have no agent activity
    Dimension.ACTIVITY: lambda d: {
        DataSet.SEGMENTS: s.activity,
        DataSet.WORKLOAD: t.workload.c.activity,
    }.get(d),
    Dimension.WORKFLOW: lambda d: s.workflow,
    Dimension.OUTCOME: lambda d: s.outcome,
    Dimension.CUSTOMER: lambda d: s.customer_id,
    Dimension.CONVERSATION: lambda d: s.conversation_id,
    Dimension.CASE: lambda d: t.conversations.c.case_id,
    Dimension.CAMPAIGN: lambda d: t.conversations.c.campaign_id,
    Dimension.PROJECT: lambda d: t.campaigns.c.project_id,
    Dimension.INITIATIVE: lambda d: t.projects.c.initiative_id,
}

# which joined tables a dimension needs, beyond the data set's rows and their segments
_NEEDS: dict[Dimension, tuple[str, ...]] = {
    Dimension.TEAM: ("agents",),
    Dimension.DEPARTMENT: ("agents",),
    Dimension.CASE: ("conversations",),
    Dimension.CAMPAIGN: ("conversations",),
    Dimension.PROJECT: ("conversations", "campaigns"),
    Dimension.INITIATIVE: ("conversations", "campaigns", "projects"),
}


# the entity each grouped column belongs to, so a dimension is checked like a filter or an order
_ENTITY_OF_TABLE: dict[str, Entity] = {e.table.name: e for e in ENTITIES.values()}


def check_grouping(
    viewer: Viewer, dimensions: Iterable[Dimension], datasets: Iterable[DataSet]
) -> None:
    """Refuse grouping by a column hidden from `viewer`: the groups' keys would reveal its values.

    Derived from `ATTRIBUTES`, so a new dimension on a hidden column is refused without an entry
    of its own here.
    """
    wanted = list(datasets)
    for dimension in dimensions:
        if dimension in TIME_DIMENSIONS:
            continue
        for dataset in wanted:
            column = ATTRIBUTES[dimension](dataset)
            if not isinstance(column, Column):
                continue  # unreachable from this data set: `check_reachable` names it
            ent = _ENTITY_OF_TABLE.get(column.table.name)
            if ent is not None:
                check_columns(viewer, ent, {column.name}, "group")


class UnreachableDimension(Exception):
    """A data set cannot be grouped by a dimension."""

    def __init__(self, dataset: DataSet, dimension: Dimension) -> None:
        super().__init__(f"{dataset.value} cannot be grouped by {dimension.name}")
        self.dataset = dataset
        self.dimension = dimension


@dataclass(frozen=True)
class TimeRange:
    """Instants the data can hold, so time zone offsets are known for all of them."""

    lo: int
    hi: int


_CALENDAR: dict[Dimension, Callable[[date], int]] = {
    Dimension.YEAR: lambda d: d.year,
    Dimension.QUARTER: lambda d: (d.month - 1) // 3 + 1,
    Dimension.MONTH: lambda d: d.month,
    Dimension.WEEK: lambda d: d.isocalendar().week,
}


def expression(
    dimension: Dimension, dataset: DataSet, tz: ZoneInfo, span: TimeRange | None
) -> ColumnElement[Any]:
    """The SQL value of `dimension` for a row of `dataset`."""
    if dimension in TIME_DIMENSIONS:
        assert span is not None
        return time_bucket(dimension, TIME[dataset], tz, span)
    found = ATTRIBUTES[dimension](dataset)
    if found is None:
        raise UnreachableDimension(dataset, dimension)
    return found


def time_bucket(
    dimension: Dimension, instant: ColumnElement[Any], tz: ZoneInfo, span: TimeRange
) -> ColumnElement[Any]:
    """The local time bucket of `instant` (epoch seconds in `span`) as an integer SQL value."""
    if dimension in _CALENDAR:
        return calendar_bucket(instant, tz, span.lo, span.hi, _CALENDAR[dimension])
    return _clock_bucket(dimension, local_seconds(instant, tz, span.lo, span.hi))


def _clock_bucket(dimension: Dimension, local: ColumnElement[int]) -> ColumnElement[Any]:
    days = local // DAY
    if dimension is Dimension.DATE:
        return days
    if dimension is Dimension.DAY_OF_WEEK:
        return (days + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
    seconds = local - days * DAY
    size = {Dimension.HOUR: 3600, Dimension.INTERVAL_30_MINUTES: 1800}.get(dimension, 900)
    return seconds // size


# dimensions a data set's rows answer without their segment (the agent is on every row)
_OWN = frozenset({Dimension.AGENT, Dimension.TEAM, Dimension.DEPARTMENT}) | TIME_DIMENSIONS
_OWN_WORKLOAD = _OWN | {Dimension.KIND, Dimension.ACTIVITY}


def source(dataset: DataSet, dimensions: list[Dimension], filtered: bool = True) -> FromClause:
    """The rows of `dataset` joined to their segments and to what the dimensions need.

    Workload slices and assessments reach their segment only when a segment filter or a segment
    dimension asks for it (an outer join, so dropping it never changes which rows count).
    """
    rows = ROWS[dataset]
    joined: FromClause = rows
    own = _OWN_WORKLOAD if dataset is DataSet.WORKLOAD else _OWN
    if dataset is not DataSet.SEGMENTS and (filtered or not own.issuperset(dimensions)):
        joined = joined.outerjoin(t.segments, rows.c.segment_id == t.segments.c.segment_id)
    needed = {name for d in dimensions for name in _NEEDS.get(d, ())}
    if "agents" in needed:
        joined = joined.outerjoin(t.agents, t.agents.c.agent_id == _AGENT[dataset])
    if "conversations" in needed:
        joined = joined.outerjoin(
            t.conversations, t.conversations.c.conversation_id == s.conversation_id
        )
    if "campaigns" in needed:
        joined = joined.outerjoin(
            t.campaigns, t.campaigns.c.campaign_id == t.conversations.c.campaign_id
        )
    if "projects" in needed:
        joined = joined.outerjoin(t.projects, t.projects.c.project_id == t.campaigns.c.project_id)
    return joined


EPOCH_DAY = date(1970, 1, 1)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def present(dimension: Dimension, raw: Any) -> Any:
    """The client-facing value of a group key computed in SQL (day numbers become dates, ...)."""
    if raw is None:
        return None
    if dimension is Dimension.DATE:
        return EPOCH_DAY + timedelta(days=int(raw))
    if dimension is Dimension.INTERVAL_30_MINUTES:
        return _clock(int(raw) * 30)
    if dimension is Dimension.INTERVAL_15_MINUTES:
        return _clock(int(raw) * 15)
    if dimension in TIME_DIMENSIONS:
        return int(raw)
    return raw
