"""A `report` answered whole: its rows, count and total written as JSON by one statement.

A wallboard asks the same report all day (`report(groupBy: [QUEUE, INTERVAL_15_MINUTES], from:,
to:, orderBy:, first: 50)`). Through GraphQL each request builds the rows' keys, metrics and
cursors in Python and completes them field by field on the event loop. When the report's rows
can be ordered in SQL (their metrics are of one data set) and everything selected is a plain
value, the same grouped statement (`resolvers/metrics/grouped_sql.py`: ordered, limited, counted
by a window) is aggregated into the rows' JSON in order, beside the total's ungrouped statements,
and `schema/whole_answers.py` learns the document like a page.

It takes: `first` given, no `after`; grouped dimensions that are values (not entities), time
dimensions with both `from` and `to`; a selection of `__typename`, `groupBy`, `totalRows`, one
`rows` (`__typename`, `key` with its values, `metrics`) or `total`, needing one aggregate
statement: rows, or a total over one data set. Rows and a total (or a total over several data
sets) keep the GraphQL path, which runs their statements concurrently: in one statement they ran
one after the other (the intraday report with its total: 134 ms against 103 ms alone). On
PostgreSQL `GROUP BY GROUPING SETS ((keys), ())` reads the rows once for both, but the planner,
which cannot estimate how many time buckets there are, sorts every row of the window for it
(spilling to disk with the default `work_mem`): 104 ms against 49 ms (rows) and 43 ms (total) for
the intraday report over a day of the 1M demo. Anything else (cursors, page info, entity keys,
drill-down) keeps the GraphQL path too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLField
from graphql.execution import VariableValues, get_argument_values
from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from strawberry.utils.str_converters import to_camel_case

from resolvers.context import Context
from resolvers.date_sql import calendar_text, clock_text
from resolvers.dates import zone_named
from resolvers.json_pages import json_object
from resolvers.metrics.catalog import BY_NAME
from resolvers.metrics.compute import metric_scope
from resolvers.metrics.dimensions import TIME_DIMENSIONS, TimeRange, check_grouping
from resolvers.metrics.dimensions import Dimension as D
from resolvers.metrics.grouped_sql import Selected, SqlOrder, grouped_statement, ordered_statement
from resolvers.metrics.json_metrics import metrics_object
from resolvers.metrics.report import check_reachable
from resolvers.metrics.timebuckets import check_span
from schema.base import OrderDirection
from schema.executor import converted_arguments
from schema.json_shapes import by_key, collect
from schema.metrics import metric_keys

Keys = tuple[tuple[str, Selected | None], ...]
_KEY_FIELDS = {to_camel_case(d.name.lower()): d for d in D if d is not D.CONVERSATION}
_INTERVALS = {D.INTERVAL_15_MINUTES: 15, D.INTERVAL_30_MINUTES: 30}


@dataclass(frozen=True)
class ReportTypes:
    """What `schema/report.py` declares that the answer reads (it imports this module)."""

    arguments: Callable[..., Any]  # `ReportArguments`
    scalar_keys: Mapping[D, Any]  # the key fields' types by dimension
    entity_keys: Mapping[D, str]  # the dimensions whose key is an entity


def report_answer(
    types: ReportTypes,
    ctx: Context,
    field_def: GraphQLField,
    definition: Any,
    group: list[FieldNode],
    fragments: Mapping[str, Any],
    variables: VariableValues,
) -> Any | None:
    """The report's JSON (a scalar subquery), or None when GraphQL must answer it; raises
    `BadInput` for what GraphQL's path reports."""
    schema = ctx.graphql_schema
    assert schema is not None
    raw = get_argument_values(field_def, group[0], variables)
    arguments = types.arguments(**converted_arguments(schema, definition, raw))
    options = ctx.options
    first = arguments.first
    if arguments.after is not None or first is None or not 0 < first <= options.max_report_rows:
        return None
    dimensions = tuple(D[g.name] for g in arguments.group_by)
    if len(set(dimensions)) != len(dimensions) or any(d in types.entity_keys for d in dimensions):
        return None
    zone = zone_named(arguments.time_zone, options.timezone)
    scope = metric_scope(ctx.viewer, arguments.start, arguments.end, arguments.filter, zone)
    span = None
    if any(d in TIME_DIMENSIONS for d in dimensions):
        if scope.start is None or scope.end is None:
            return None  # the data's range is a statement of its own
        span = TimeRange(int(scope.start.timestamp()), int(scope.end.timestamp()))
        check_span(span.lo, span.hi, options.max_report_span_days)
    selection = _Selection.read(ctx, group, fragments)
    if selection is None:
        return None
    defaults = options.thresholds
    row_items = [item for _, item in selection.row_metrics if item is not None]
    order: list[tuple[D | str, bool]] = []
    for o in arguments.order_by or []:
        descending = o.direction == OrderDirection.DESC
        if o.dimension is not None:
            order.append((D[o.dimension.name], descending))
        elif o.metric is not None:
            key = f"__order_{o.metric.value}"
            row_items.append(Selected(key, BY_NAME[o.metric.value], defaults))
            order.append((key, descending))
    if not row_items:  # the groups exist even when no metric is asked for
        row_items.append(Selected("__groups", BY_NAME["segments"], defaults))
    total_items = {item.key: item for _, item in selection.total_metrics if item is not None}
    everything = [*row_items, *total_items.values()]
    check_reachable(dimensions, everything)
    check_grouping(scope.viewer, dimensions, {item.metric.dataset for item in everything})
    datasets = {item.metric.dataset for item in row_items}
    if len(datasets) != 1:
        return None  # several data sets' groups meet in Python
    reads_rows = selection.rows is not None or selection.counted
    total_datasets = {item.metric.dataset for item in total_items.values()}
    if reads_rows + len(total_datasets) > 1:
        return None  # GraphQL runs the aggregates concurrently; one statement, one by one
    dialect = ctx.engine.dialect.name
    sources: list[Any] = []
    pairs: list[tuple[str, Any]] = []
    rows = count = None
    if reads_rows:
        keys = tuple(order) + tuple((d, False) for d in dimensions)
        grouped = grouped_statement(datasets.pop(), dimensions, row_items, scope, dialect, span)
        ordered = ordered_statement(grouped, dimensions, row_items, SqlOrder(keys, first))
        placed = ordered.subquery()
        in_order = select(placed).order_by(placed.c.place).subquery()  # SQLite aggregates so
        counted = func.coalesce(func.max(in_order.c.groups), 0)
        report_rows = select(counted.label("total_rows"))
        if selection.rows is not None:
            row_json = _row(selection, dimensions, row_items, in_order, types.scalar_keys, dialect)
            report_rows = report_rows.add_columns(_array(row_json, in_order, dialect).label("rows"))
        found = report_rows.select_from(in_order).subquery("report_rows")
        sources.append(found)
        count = found.c.total_rows
        rows = found.c.rows if selection.rows is not None else None
    total = _total(list(total_items.values()), scope, dialect, sources)
    for key, part in selection.parts:
        if part == "__typename":
            value: Any = literal("Report", String)
        elif part == "groupBy":
            names = [literal(g.name, String) for g in arguments.group_by]
            value = (
                func.json_build_array(*names)
                if dialect == "postgresql"
                else func.json_array(*names)
            )
        elif part == "totalRows":
            value = count
        elif part == "rows":
            value = func.json(rows) if dialect == "sqlite" else rows
        else:
            value = metrics_object(selection.totals[key], total, dialect)
        pairs.append((key, value))
    statement = select(json_object(pairs, dialect))
    if sources:  # the one aggregate's one row: the rows' or the total's
        (source,) = sources
        statement = statement.select_from(source)
    return statement.scalar_subquery()


class _Selection:
    """What a report's selection asks for, when everything in it can be written as JSON."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []  # (response key, field name) in order
        self.rows: list[tuple[str, str, Any]] | None = None  # (key, part, its keys)
        self.row_metrics: Keys = ()
        self.totals: dict[str, Keys] = {}
        self.counted = False

    @property
    def total_metrics(self) -> Keys:
        return tuple(item for keys in self.totals.values() for item in keys)

    @classmethod
    def read(
        cls, ctx: Context, group: list[FieldNode], fragments: Mapping[str, Any]
    ) -> _Selection | None:
        found = cls()
        for key, nodes in by_key(collect([n.selection_set for n in group], fragments)) or ():
            name = nodes[0].name.value
            found.parts.append((key, name))
            if name == "totalRows":
                found.counted = True
            elif name == "rows":
                if found.rows is not None or not found._read_rows(ctx, nodes, fragments):
                    return None
            elif name == "total":
                keys = metric_keys(ctx, nodes, fragments)
                if keys is None:
                    return None
                found.totals[key] = keys
            elif name not in ("__typename", "groupBy"):
                return None  # page info, cursors
        return found if found.parts else None

    def _read_rows(
        self, ctx: Context, nodes: list[FieldNode], fragments: Mapping[str, Any]
    ) -> bool:
        self.rows = []
        for key, inner in by_key(collect([n.selection_set for n in nodes], fragments)) or ():
            name = inner[0].name.value
            if name == "__typename":
                self.rows.append((key, name, None))
            elif name == "metrics":
                keys = metric_keys(ctx, inner, fragments)
                if keys is None or self.row_metrics:
                    return False  # one `metrics` per row: their keys share the values
                self.row_metrics = keys
                self.rows.append((key, name, keys))
            elif name == "key":
                parts = by_key(collect([n.selection_set for n in inner], fragments))
                if not parts or any(p[1][0].name.value not in (*_KEY_FIELDS, "__typename")
                                    for p in parts):  # fmt: skip
                    return False
                self.rows.append((key, name, [(k, p[0].name.value) for k, p in parts]))
            else:
                return False  # cursors, drill-down
        return bool(self.rows)


def _row(
    selection: _Selection,
    dimensions: tuple[D, ...],
    items: list[Selected],
    rows: Any,
    scalar_keys: Mapping[D, Any],
    dialect: str,
) -> Any:
    """One report row's JSON: its key's values as GraphQL presents them, its metrics."""
    assert selection.rows is not None
    pairs: list[tuple[str, Any]] = []
    for key, part, keys in selection.rows:
        if part == "__typename":
            value: Any = literal("ReportRow", String)
        elif part == "metrics":
            columns = {item.key: rows.c[f"m{j}"] for j, item in enumerate(items)}
            value = metrics_object(keys, columns, dialect)
        else:
            inner: list[tuple[str, Any]] = []
            for inner_key, name in keys:
                if name == "__typename":
                    inner.append((inner_key, literal("ReportKey", String)))
                    continue
                dimension = _KEY_FIELDS[name]
                if dimension not in dimensions:
                    inner.append((inner_key, null()))
                    continue
                raw = rows.c[f"k{dimensions.index(dimension)}"]
                inner.append((inner_key, _presented(dimension, raw, scalar_keys, dialect)))
            value = json_object(inner, dialect)
        if dialect == "sqlite" and part != "__typename":
            value = func.json(value)
        pairs.append((key, value))
    return json_object(pairs, dialect)


def _presented(dimension: D, raw: Any, scalar_keys: Mapping[D, Any], dialect: str) -> Any:
    """A group key's value as `resolvers.metrics.dimensions.present` and GraphQL write it."""
    if dimension is D.DATE:  # the day number's UTC date, as the date dimensions write it
        return calendar_text(dialect, cast(raw, Integer) * 86400, "%Y-%m-%d", number=False)
    if dimension in _INTERVALS:
        minutes = cast(raw, Integer) * _INTERVALS[dimension]
        text = clock_text(dialect, minutes // 60, minutes % 60)
        return case((raw.is_(None), null()), else_=text)
    if dimension in TIME_DIMENSIONS:
        return cast(raw, Integer)
    enum_type = scalar_keys[dimension]
    if isinstance(enum_type, type) and issubclass(enum_type, enum.Enum):  # by member name
        members = [(raw == member.value, literal(member.name)) for member in enum_type]
        return case(*members, else_=null())
    return raw


def _array(value: Any, rows: Any, dialect: str) -> Any:
    """The rows' `value`s in the report's order (`[]` for none)."""
    if dialect == "postgresql":
        array = func.json_agg(aggregate_order_by(value, rows.c.place))
        return func.coalesce(array, literal_column("'[]'::json"))
    return func.json_group_array(func.json(value))


def _total(items: list[Selected], scope: Any, dialect: str, sources: list[Any]) -> dict[str, Any]:
    """The total's values by key: one ungrouped statement per data set, added to `sources`."""
    by_dataset: dict[Any, list[Selected]] = {}
    for item in items:
        by_dataset.setdefault(item.metric.dataset, []).append(item)
    values: dict[str, Any] = {}
    for index, (dataset, members) in enumerate(by_dataset.items()):
        found = grouped_statement(dataset, [], members, scope, dialect).subquery(f"total{index}")
        sources.append(found)
        values |= {item.key: found.c[f"m{j}"] for j, item in enumerate(members)}
    return values
