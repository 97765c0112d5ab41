"""`report(groupBy:, ...)`: metrics grouped by dimensions, with typed keys and drill-down.

The resolver reads its selection set: row metrics and total metrics are computed only when
selected (each with its own thresholds), all of one data set in one grouped statement.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date
from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from resolvers.dates import zone_named
from resolvers.entities import ENTITIES
from resolvers.errors import BadInput
from resolvers.metrics.catalog import BY_NAME
from resolvers.metrics.compute import Key, Scope, Selected, metric_scope
from resolvers.metrics.dimensions import Dimension as D
from resolvers.metrics.dimensions import present
from resolvers.metrics.drilldown import DrillCount, DrillDown, drill_count, drill_down, narrowed
from resolvers.metrics.report import OrderKey, report
from resolvers.metrics.report_cursor import fingerprint, position_after, row_cursor
from resolvers.pages import fetch_row
from schema.base import TYPES, OrderDirection, PageInfo, context, from_row, selected_fields
from schema.declare import arguments_of, declared_field
from schema.enums import Direction, SegmentKind
from schema.fields import AFTER, BEFORE, FIRST, LAST, lazy, order_spec, relay_args, to_connection
from schema.metrics import FROM, TIME_ZONE, TO, MetricName, Metrics, selected_metrics
from schema.report_answers import ReportTypes, report_answer
from schema.sources import FieldSource, declare

_DIMENSIONS: dict[str, str] = {
    "AGENT": "The agent of the row (for workload and assessments: the slice's or assessed agent).",
    "TEAM": "The agent's current team.",
    "HANDLING_TEAM": "The team the agent was in when the segment was handled.",
    "DEPARTMENT": "The agent's current department.",
    "HANDLING_DEPARTMENT": "The department the agent was in when the segment was handled.",
    "QUEUE": "The queue the customer waited in.",
    "CHANNEL": "The communication channel.",
    "DIRECTION": "The direction of the conversation.",
    "KIND": "The segment kind (for workload: the slice kind).",
    "ACTIVITY": "The agent activity (segments and workload slices only).",
    "WORKFLOW": "The routing workflow.",
    "OUTCOME": "How the segment ended.",
    "CUSTOMER": "The customer.",
    "CASE": "The case of the conversation.",
    "CAMPAIGN": "The campaign of the conversation.",
    "PROJECT": "The project of the conversation's campaign.",
    "INITIATIVE": "The initiative of the conversation's project.",
    "DATE": "The local date (workspace time zone) of the data set's time.",
    "YEAR": "The local year.",
    "QUARTER": "The local quarter, 1-4.",
    "MONTH": "The local month, 1-12.",
    "WEEK": "The ISO 8601 week number, 1-53.",
    "DAY_OF_WEEK": "The ISO day of the week, 1 (Monday) to 7 (Sunday).",
    "HOUR": "The local hour of the day, 0-23.",
    "INTERVAL_30_MINUTES": "The local 30-minute interval of the day, `HH:MM`.",
    "INTERVAL_15_MINUTES": "The local 15-minute interval of the day, `HH:MM`.",
}

Dimension = strawberry.enum(  # type: ignore[call-overload]
    enum.Enum(  # type: ignore[misc]
        "Dimension",
        {name: strawberry.enum_value(name, description=text) for name, text in _DIMENSIONS.items()},
    ),
    description="What a report can group by. Time dimensions use each data set's own time "
    "(segment start, slice interval start, assessment creation) in the workspace time zone.",
)


@strawberry.input(description="One sort key of a report: a grouped dimension or a metric.")
class ReportOrder:
    dimension: Dimension | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Sort by this grouped dimension (entities by their key)."
    )
    metric: MetricName | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Sort by this metric (with the thresholds of the settings)."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="Sort direction; empty values sort last ascending."
    )


# the typed key fields: (python name, GraphQL type, dimension, entity or None)
_ENTITY_KEYS = {
    D.AGENT: "Agent",
    D.TEAM: "Team",
    D.HANDLING_TEAM: "Team",
    D.DEPARTMENT: "Department",
    D.HANDLING_DEPARTMENT: "Department",
    D.CUSTOMER: "Customer",
    D.CASE: "Case",
    D.CAMPAIGN: "Campaign",
    D.PROJECT: "Project",
    D.INITIATIVE: "Initiative",
}
_SCALAR_KEYS: dict[D, Any] = {
    D.QUEUE: str,
    D.CHANNEL: str,
    D.DIRECTION: Direction,
    D.KIND: SegmentKind,
    D.ACTIVITY: str,
    D.WORKFLOW: str,
    D.OUTCOME: str,
    D.DATE: date,
    D.YEAR: int,
    D.QUARTER: int,
    D.MONTH: int,
    D.WEEK: int,
    D.DAY_OF_WEEK: int,
    D.HOUR: int,
    D.INTERVAL_30_MINUTES: str,
    D.INTERVAL_15_MINUTES: str,
}


@strawberry.type(description="The dimension values of a report row; null for ungrouped ones.")
class ReportKeyBase:
    _values: strawberry.Private[dict[D, Any]]


def _snake(name: str) -> str:
    return name.lower()


def _key_field(dimension: D) -> Any:
    text = _DIMENSIONS[dimension.name] + " Null when not grouped by it, or for rows without one."
    if dimension in _ENTITY_KEYS:
        target = _ENTITY_KEYS[dimension]

        async def resolve_entity(root: ReportKeyBase, info: Info) -> Any:
            key = root._values.get(dimension)
            row = await fetch_row(context(info), ENTITIES[target], key)
            return None if row is None else from_row(TYPES[target], row)

        return strawberry.field(
            resolver=resolve_entity, graphql_type=lazy(target) | None, description=text
        )
    scalar = _SCALAR_KEYS[dimension]

    def resolve(root: ReportKeyBase) -> Any:
        value = root._values.get(dimension)
        if value is not None and isinstance(scalar, type) and issubclass(scalar, enum.Enum):
            return scalar(value)
        return value

    declare(resolve, FieldSource(needs=(), bind=lambda ctx, field_nodes, fragments: resolve))
    return strawberry.field(resolver=resolve, graphql_type=scalar | None, description=text)


ReportKey = strawberry.type(
    type(
        "ReportKey",
        (ReportKeyBase,),
        {
            "__module__": __name__,
            **{_snake(d.name): _key_field(d) for d in D if d.name in _DIMENSIONS},
        },
    ),
    description="The dimension values of a report row; only grouped dimensions are set.",
)


@dataclasses.dataclass(frozen=True)
class RowSegmentsArguments:
    """The arguments of a report row's `segments`."""

    metric: Annotated[
        MetricName | None,  # type: ignore[valid-type]
        strawberry.argument(
            description="Only the segments this metric counts in the row (or sums or averages "
            "over; for a ratio, its denominator's): they add up to the row's value."
        ),
    ] = None
    filter: Annotated[
        lazy("SegmentFilter") | None,  # type: ignore[valid-type]
        strawberry.argument(description="Only segments matching this filter."),
    ] = None
    order_by: Annotated[
        list[lazy("SegmentOrder")] | None,  # type: ignore[valid-type]
        strawberry.argument(description="Sort keys, most significant first."),
    ] = None
    first: FIRST = None
    after: AFTER = None
    last: LAST = None
    before: BEFORE = None


async def _row_segments(root: Any, info: Info, **values: Any) -> Any:
    """A page of the row's segments; all rows of the report load in one statement."""
    arguments = RowSegmentsArguments(**values)
    ctx = context(info)
    args = relay_args(ctx, arguments.first, arguments.after, arguments.last, arguments.before)
    order = order_spec(arguments.order_by) or ENTITIES["Segment"].order
    name = None if arguments.metric is None else arguments.metric.value
    scope = narrowed(root._scope, name, ctx.options.thresholds, arguments.filter)
    page = await drill_down(ctx, DrillDown(root._dimensions, scope, order, args, root._raw))
    count = DrillCount(root._dimensions, scope, root._raw)
    return to_connection("Segment", page, lambda: drill_count(ctx, count))


@strawberry.type(description="One group of a report: its key, its metrics and its segments.")
class ReportRow:
    key: ReportKey = strawberry.field(description="The grouped dimension values.")  # type: ignore[valid-type]
    metrics: Metrics = strawberry.field(description="The selected metrics over this group.")  # type: ignore[valid-type]
    cursor: str = strawberry.field(
        description="Where this row is in the report's order: `after` takes it for the next rows."
    )
    _raw: strawberry.Private[Key]
    _dimensions: strawberry.Private[tuple[D, ...]]
    _scope: strawberry.Private[Scope]

    segments = declared_field(
        _row_segments,
        returns=lazy("SegmentConnection") | None,  # nullable, as every connection
        arguments=arguments_of(RowSegmentsArguments),
        description="The segments behind this row: segments in the report's scope whose "
        "dimension values (segment start for time dimensions) equal the row's key.",
    )


@strawberry.type(description="Metrics grouped by dimensions, with the total over the whole scope.")
class Report:
    group_by: list[Dimension] = strawberry.field(description="The grouped dimensions, in order.")  # type: ignore[valid-type]
    rows: list[ReportRow] = strawberry.field(
        description="The groups (at most `first`), ordered by `orderBy`, then by the dimensions."
    )
    total_rows: int = strawberry.field(description="Number of groups before `first` cut them.")
    page_info: PageInfo = strawberry.field(
        description="Pages of rows: `hasNextPage`, and `endCursor` to pass as `after`."
    )
    total: Metrics = strawberry.field(  # type: ignore[valid-type]
        description="The selected metrics recomputed over the whole scope (not summed rows)."
    )


def _sub(fields: Any, name: str) -> list[Any]:
    return [f for f in selected_fields(fields) if f.name == name]


@dataclasses.dataclass(frozen=True)
class ReportArguments:
    """The arguments of `report`: the query and the live subscription take these."""

    group_by: Annotated[
        list[Dimension],  # type: ignore[valid-type]
        strawberry.argument(description="Dimensions to group by, in key order (may be empty)."),
    ]
    start: FROM = None
    end: TO = None
    filter: Annotated[
        lazy("SegmentFilter") | None,  # type: ignore[valid-type]
        strawberry.argument(
            description="Only segments matching this filter count (workload slices and "
            "assessments through their segment)."
        ),
    ] = None
    order_by: Annotated[
        list[ReportOrder] | None,
        strawberry.argument(description="Sort keys, most significant first."),
    ] = None
    first: Annotated[
        int | None,
        strawberry.argument(
            description="Return at most this many rows (default and cap: the "
            "`INSIGHTS_MAX_REPORT_ROWS` setting)."
        ),
    ] = None
    time_zone: TIME_ZONE = None
    after: Annotated[
        str | None,
        strawberry.argument(
            description="Rows after this row cursor (`pageInfo.endCursor` or a row's "
            "`cursor`) of the same report."
        ),
    ] = None


async def resolve_report(info: Info, arguments: ReportArguments) -> Report:
    ctx = context(info)
    options = ctx.options
    limit = options.max_report_rows
    first, after = arguments.first, arguments.after
    group_by: list[Any] = arguments.group_by
    if first is not None and not 0 <= first <= limit:
        raise BadInput(f"`first` must be between 0 and {limit} (got {first}).")
    dimensions = tuple(D[g.name] for g in group_by)
    if len(set(dimensions)) != len(dimensions):
        raise BadInput("`groupBy` names a dimension twice.")
    zone = zone_named(arguments.time_zone, options.timezone)
    scope = metric_scope(ctx.viewer, arguments.start, arguments.end, arguments.filter, zone)
    defaults = options.thresholds
    top = info.selected_fields[0].selections
    rows_fields = _sub(top, "rows")
    total_fields = _sub(top, "total")
    needs_rows = bool(rows_fields) or bool(_sub(top, "totalRows"))
    row_metrics = selected_metrics(
        [m for r in rows_fields for m in _sub(r.selections, "metrics")], defaults
    )
    order: list[OrderKey] = []
    for o in arguments.order_by or []:
        descending = o.direction == OrderDirection.DESC
        if (o.dimension is None) == (o.metric is None):
            raise BadInput("Each `orderBy` entry takes exactly one of `dimension` and `metric`.")
        if o.dimension is not None:
            order.append(OrderKey(D[o.dimension.name], None, descending))
        elif o.metric is not None:
            if "percentile" in BY_NAME[o.metric.value].thresholds:
                raise BadInput(
                    f"`orderBy` cannot sort by `{o.metric.value}`: it needs a `percentile` "
                    "argument; sort by a dimension or another metric."
                )
            key = f"__order_{o.metric.value}"
            row_metrics.append(Selected(key, BY_NAME[o.metric.value], defaults))
            order.append(OrderKey(None, key, descending))
    if not row_metrics:
        # the groups exist even when no metric is asked for: find them by counting segments
        row_metrics.append(Selected("__groups", BY_NAME["segments"], defaults))
    total_metrics = selected_metrics(total_fields, defaults)
    made_by = fingerprint(dimensions, scope, order)
    offset = position_after(after, made_by)
    needs_rows = needs_rows or bool(_sub(top, "pageInfo"))
    result, total = await report(
        ctx,
        dimensions,
        row_metrics if needs_rows else None,
        total_metrics if total_fields else None,
        scope,
        order,
        limit if first is None else first,
        offset,
    )
    if first is None and result is not None and result.total_rows - offset > limit:
        raise BadInput(
            f"The report has {result.total_rows - offset} rows, more than the maximum of "
            f"{limit}: pass `first` (and page with `after`), group by fewer dimensions or narrow "
            "`from`/`to`/`filter`."
        )
    rows = [
        ReportRow(
            key=ReportKey(
                _values={d: present(d, v) for d, v in zip(dimensions, r.key, strict=True)}
            ),
            metrics=Metrics(_values=r.values),
            cursor=row_cursor(made_by, offset + i + 1),
            _raw=r.key,
            _dimensions=dimensions,
            _scope=scope,
        )
        for i, r in enumerate(result.rows if result else [])
    ]
    total_rows = result.total_rows if result else 0
    return Report(
        group_by=list(group_by),
        rows=rows,
        total_rows=total_rows,
        page_info=PageInfo(
            has_next_page=offset + len(rows) < total_rows,
            has_previous_page=offset > 0,
            start_cursor=rows[0].cursor if rows else None,
            end_cursor=rows[-1].cursor if rows else None,
        ),
        total=Metrics(_values=total or {}),
    )


async def _report(info: Info, **values: Any) -> Report | None:
    return await resolve_report(info, ReportArguments(**values))


def report_field() -> StrawberryField:
    types = ReportTypes(ReportArguments, _SCALAR_KEYS, _ENTITY_KEYS)
    declare(_report, FieldSource(needs=(), whole=partial(report_answer, types)))
    return declared_field(
        _report,
        returns=Report | None,  # nullable: a failing report leaves its siblings their data
        arguments=arguments_of(ReportArguments),
        description="Metrics grouped by dimensions over segments, workload slices and "
        "assessments in `[from, to)`, with drill-down to the segments of each row.",
    )
