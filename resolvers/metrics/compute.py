"""Run metrics: one grouped statement per data set for every metric a request selects.

Entity `metrics` fields (50 agents on a page) batch through a loader into one statement per data
set grouped by the entity's dimension; reports group by the requested dimensions. Rows of several
data sets are joined on their group key in Python, after SQL has aggregated them.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, func, select
from strawberry.dataloader import DataLoader

from resolvers.cancel import aggregate_reads
from resolvers.context import Context
from resolvers.entities import ENTITIES
from resolvers.filters import compile_filter
from resolvers.metrics.catalog import DataSet, Metric
from resolvers.metrics.dimensions import TIME, TIME_DIMENSIONS, Dimension, TimeRange
from resolvers.metrics.grouped_sql import (
    Moment,
    Scope,
    Selected,
    SqlOrder,
    grouped_statement,
    ordered_statement,
)
from resolvers.metrics.timebuckets import check_span
from resolvers.pages import filter_token, run_tuples
from resolvers.viewer import Viewer

Key = tuple[Any, ...]
Values = dict[str, Any]


def metric_scope(
    viewer: Viewer,
    start: Moment | None,
    end: Moment | None,
    flt: Any,
    zone: ZoneInfo,
) -> Scope:
    """The rows metrics cover for `viewer`: its segments matching the client's segment filter
    (compiled, checked and link-scoped by `compile_filter`) in `[start, end)`, bucketed in
    `zone`."""
    # a bound variable's parameter has an offset (`schema/variable_binds.py`)
    start, end = (m if isinstance(m, BindParameter) else in_zone(m, zone) for m in (start, end))
    token = filter_token(flt)
    condition = compile_filter(viewer, ENTITIES["Segment"], flt)
    return Scope(
        viewer, f"{start}|{end}|{token}", zone, start, end, condition, filtered=token != ""
    )


def in_zone(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A wall-clock `from`/`to` (no offset) is read in the query's zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone)


def empty_values(selected: Sequence[Selected]) -> Values:
    return {s.key: s.metric.empty for s in selected}


def _convert(metric: Metric, value: Any) -> Any:
    if value is None:
        return metric.empty
    return int(value) if metric.integer else float(value)


async def time_range(ctx: Context, dataset: DataSet, scope: Scope) -> TimeRange:
    """Bounds of the instants a statement can meet, for the time zone offsets of its buckets."""
    if scope.start is not None and scope.end is not None:
        span = TimeRange(int(scope.start.timestamp()), int(scope.end.timestamp()))
        check_span(span.lo, span.hi, ctx.options.max_report_span_days)
        return span

    async def load(keys: list[DataSet]) -> list[TimeRange]:
        spans = []
        for ds in keys:
            column = TIME[ds]
            (lo, hi), *_ = await run_tuples(ctx, select(func.min(column), func.max(column)))
            lo_s = int(lo.timestamp()) if lo is not None else 0
            hi_s = int(hi.timestamp()) if hi is not None else 0
            spans.append(TimeRange(lo_s, hi_s + 1))
        return spans

    loader = ctx.loader("time-ranges", lambda: DataLoader(load))
    span = await loader.load(dataset)
    check_span(span.lo, span.hi, ctx.options.max_report_span_days)
    return span


async def grouped(
    ctx: Context,
    dimensions: Sequence[Dimension],
    selected: Sequence[Selected],
    scope: Scope,
    restrict: tuple[Dimension, Sequence[Any]] | None = None,
) -> dict[Key, Values]:
    """Metric values per group key (all keys of all data sets); one statement per data set."""
    by_dataset: dict[DataSet, list[Selected]] = defaultdict(list)
    for item in selected:
        by_dataset[item.metric.dataset].append(item)
    # the data sets' statements are independent: run them concurrently, one connection each
    found = await asyncio.gather(
        *(
            _grouped_rows(ctx, dataset, dimensions, items, scope, restrict)
            for dataset, items in by_dataset.items()
        )
    )
    results: dict[Key, Values] = {}
    for rows in found:
        for key, values in rows.items():
            results.setdefault(key, {}).update(values)
    # a group found by one data set has "nothing" values for the others
    everything = empty_values(selected)
    return {key: {**everything, **values} for key, values in results.items()}


async def ordered_groups(
    ctx: Context,
    dimensions: Sequence[Dimension],
    selected: Sequence[Selected],
    scope: Scope,
    order: SqlOrder,
) -> tuple[dict[Key, Values], int]:
    """The first `order.limit` groups of one data set in SQL order, and the number of groups."""
    datasets = {item.metric.dataset for item in selected}
    assert len(datasets) == 1, "SQL can order the groups of one data set only"
    counted: list[int] = []
    dataset = datasets.pop()
    found = await _grouped_rows(ctx, dataset, dimensions, selected, scope, None, order, counted)
    if not counted and order.offset > 0:
        # a page past the last group has no row to carry the count: ask for the first group
        first = SqlOrder(order.keys, 1)
        await _grouped_rows(ctx, dataset, dimensions, selected, scope, None, first, counted)
    return found, counted[0] if counted else 0


async def _grouped_rows(
    ctx: Context,
    dataset: DataSet,
    dimensions: Sequence[Dimension],
    items: Sequence[Selected],
    scope: Scope,
    restrict: tuple[Dimension, Sequence[Any]] | None,
    order: SqlOrder | None = None,
    counted: list[int] | None = None,
) -> dict[Key, Values]:
    needs_span = any(d in TIME_DIMENSIONS for d in dimensions)
    span = await time_range(ctx, dataset, scope) if needs_span else None
    dialect = ctx.engine.dialect.name
    statement = grouped_statement(dataset, dimensions, items, scope, dialect, span, restrict)
    width = len(dimensions)  # the key's columns come first
    if order is not None:
        statement = ordered_statement(statement, dimensions, items, order)
    found: dict[Key, Values] = {}
    with aggregate_reads():  # behind page reads on a busy machine (`resolvers/cancel.py`)
        grouped_rows = await run_tuples(ctx, statement)
    for row in grouped_rows:
        if order is not None and counted is not None and not counted:
            counted.append(int(row[-2]))  # then its place
        key = tuple(row[:width])
        found[key] = {
            item.key: _convert(item.metric, value)
            for item, value in zip(items, row[width : width + len(items)], strict=True)
        }
    return found


# --- entity metrics, batched ------------------------------------------------------------------


@dataclass(frozen=True)
class EntityMetricsRequest:
    """The metrics of one entity; requests equal but for `parent` share a statement."""

    dimension: Dimension
    scope: Scope
    selected: tuple[Selected, ...]
    parent: Any


async def _load_entity_metrics(ctx: Context, requests: list[EntityMetricsRequest]) -> list[Values]:
    groups: dict[Any, list[EntityMetricsRequest]] = defaultdict(list)
    for request in requests:
        groups[(request.dimension, request.scope, request.selected)].append(request)
    answers: dict[EntityMetricsRequest, Values] = {}
    for members in groups.values():
        first = members[0]
        parents = sorted({m.parent for m in members}, key=str)
        found = await grouped(
            ctx, [first.dimension], first.selected, first.scope, (first.dimension, parents)
        )
        for member in members:
            answers[member] = found.get((member.parent,), empty_values(first.selected))
    return [answers[r] for r in requests]


async def entity_metrics(ctx: Context, request: EntityMetricsRequest) -> Values:
    loader = ctx.loader(
        "entity-metrics", lambda: DataLoader(lambda r: _load_entity_metrics(ctx, r))
    )
    return await loader.load(request)
