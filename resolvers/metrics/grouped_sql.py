"""The grouped statement of one data set: the selected metrics' aggregates per group key.

Both ways of answering metrics read it: `resolvers/metrics/compute.py` runs it and converts its
rows in Python; `resolvers/metrics/json_metrics.py` joins it to a page whose rows the database
writes as JSON. It imports nothing that reads pages, so the JSON rows' writer can use it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, ColumnElement, Select, and_, any_, case, func, select

from resolvers.metrics.catalog import DataSet, Metric, Thresholds
from resolvers.metrics.dimensions import TIME, Dimension, TimeRange, expression, source
from resolvers.metrics.inline import constants_inline
from resolvers.metrics.percentile import finished, grouped_part, needs_two_steps
from resolvers.scope import visible_segments
from resolvers.viewer import Viewer

Moment = datetime | BindParameter[Any]
"""A time range's bound: an instant, or a bound variable's parameter (`schema/variable_binds.py`:
the plans of a sliding window hold it; its instant, with an offset, is bound at each read)."""


@dataclass(frozen=True)
class Selected:
    """One metric field of the request: its response key, metric and effective thresholds."""

    key: str
    metric: Metric
    thresholds: Thresholds


@dataclass(frozen=True)
class Scope:
    """Which rows the metrics cover: the viewer's segments, a segment filter and a time range.

    Made by `metric_scope` only, so every metric, report total, report row and drill-down reads
    its rows through `where`, which always holds the viewer's row scope.
    """

    viewer: Viewer
    token: str
    zone: ZoneInfo  # time buckets, and `from`/`to` given without an offset, are in this zone
    start: Moment | None
    end: Moment | None
    condition: ColumnElement[bool] = field(compare=False, hash=False)
    filtered: bool  # False: `condition` is TRUE, no segment attribute is needed

    @property
    def joins_segments(self) -> bool:
        """Whether rows must be read joined to their segment (a filter or a row scope on it)."""
        return self.filtered or self.viewer.restricted

    def where(self, dataset: DataSet) -> list[ColumnElement[bool]]:
        # every data set is read joined to its segments: the viewer's segments bound all metrics
        conditions = [visible_segments(self.viewer), self.condition]
        if self.start is not None:
            conditions.append(TIME[dataset] >= self.start)
        if self.end is not None:
            conditions.append(TIME[dataset] < self.end)
        return conditions


@functools.lru_cache(maxsize=1024)
def metric_sql(metric: Metric, thresholds: Thresholds) -> ColumnElement[Any]:
    """The aggregate of `metric` under `thresholds`, built once per process, not per request:
    building and inlining (`resolvers/metrics/inline.py`: equal aggregates of several metrics are
    computed once only when their SQL is identical) took a seventh of a loaded worker's event
    loop, and every page and subscription waiting for the loop waited for it too."""
    return constants_inline(metric.sql(thresholds))


def grouped_statement(
    dataset: DataSet,
    dimensions: Sequence[Dimension],
    items: Sequence[Selected],
    scope: Scope,
    dialect: str,
    span: TimeRange | None = None,
    restrict: tuple[Dimension, Any] | None = None,
) -> Any:
    """`items`' aggregates over `scope`'s rows of `dataset` per group: columns `k<i>` (the
    dimensions' values), then `m<j>` (each item's value as SQL computes it). `restrict` keeps
    the rows whose value of a dimension is in a list or subquery (an entity page's keys)."""
    tz = scope.zone
    keys = [expression(d, dataset, tz, span) for d in dimensions]
    conditions = scope.where(dataset)
    all_dimensions = list(dimensions)
    if restrict is not None:
        dimension, values = restrict
        conditions.append(_among(expression(dimension, dataset, tz, span), values, dialect))
        all_dimensions.append(dimension)
    metrics = [metric_sql(item.metric, item.thresholds) for item in items]
    columns = [k.label(f"k{i}") for i, k in enumerate(keys)] + [
        grouped_part(m, dialect).label(f"m{j}") for j, m in enumerate(metrics)
    ]
    statement: Any = (
        select(*columns)
        # a non-admin's scope is a condition on segments: their rows must be joined then too
        .select_from(source(dataset, all_dimensions, scope.joins_segments))
        .where(and_(*conditions))
        .group_by(*keys)
    )
    if not any(needs_two_steps(m, dialect) for m in metrics):
        return statement
    # percentiles on SQLite: the groups' values are sorted by the statement around them
    grouped = statement.subquery()
    return select(
        *(grouped.c[f"k{i}"] for i in range(len(keys))),
        *(finished(m, grouped.c[f"m{j}"], dialect).label(f"m{j}") for j, m in enumerate(metrics)),
    )


def _among(key: ColumnElement[Any], values: Any, dialect: str) -> ColumnElement[bool]:
    """`key IN values` (a list, or a subquery: a page's keys). On PostgreSQL a subquery's
    values are read into an array first (`key = ANY(ARRAY(subquery))`, an InitPlan): an index
    on the key then reads the rows of each value in the key's order, where `IN (subquery)` was
    a hash join over every row of the time range, then a sort for the grouping (a board of six
    queues over a day of the 1M demo: 123 -> 67 ms)."""
    if dialect == "postgresql" and isinstance(values, Select):
        return key == any_(func.array(values.scalar_subquery()))
    return key.in_(values)


@dataclass(frozen=True)
class SqlOrder:
    """ORDER BY and LIMIT for the groups of one data set: (dimension or metric key, descending)."""

    keys: tuple[tuple[Dimension | str, bool], ...]
    limit: int
    offset: int = 0


def ordered_statement(
    statement: Any, dimensions: Sequence[Dimension], items: Sequence[Selected], order: SqlOrder
) -> Any:
    """`grouped_statement`'s groups in `order`, the first `order.limit` after `order.offset`,
    each with `groups` (every group's count, by a window) and `place` (its place in the
    order, from 1)."""
    groups = statement.subquery()
    position: dict[Dimension | str, str] = {d: f"k{i}" for i, d in enumerate(dimensions)}
    position |= {item.key: f"m{j}" for j, item in enumerate(items)}
    clauses = [
        clause
        for target, descending in order.keys
        for clause in _nulls_outside(groups.c[position[target]], descending)
    ]
    return (
        select(
            *groups.c,
            func.count().over().label("groups"),
            func.row_number().over(order_by=clauses).label("place"),
        )
        .order_by(*clauses)
        .limit(max(order.limit, 1))
        .offset(order.offset)
    )


def _nulls_outside(column: Any, descending: bool) -> list[Any]:
    """Empty values last ascending, first descending (as connections sort), on both engines."""
    is_null = case((column.is_(None), 1), else_=0)
    return [is_null.desc(), column.desc()] if descending else [is_null, column]
