"""Reports: metrics grouped by any combination of dimensions, with a total over the whole scope.

The rows run as one grouped statement per data set the selected metrics need; the data sets'
groups are joined on the key after SQL aggregated them (a group only one data set has gets the
"nothing" values of the others: 0 for counts and sums, null for averages and ratios). The total
is recomputed from the rows of the scope, never from the rows of the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from resolvers.context import Context
from resolvers.errors import BadInput
from resolvers.metrics.compute import (
    Key,
    Scope,
    Selected,
    SqlOrder,
    Values,
    empty_values,
    grouped,
    ordered_groups,
)
from resolvers.metrics.dimensions import ATTRIBUTES, TIME_DIMENSIONS, Dimension, check_grouping


@dataclass(frozen=True)
class OrderKey:
    """Sort a report by a grouped dimension or by a metric (its response key in `values`)."""

    dimension: Dimension | None
    metric: str | None
    descending: bool


@dataclass(frozen=True)
class ReportRow:
    """One group: its raw key (as SQL computed it, one value per dimension) and its metrics."""

    key: Key
    values: Values


@dataclass(frozen=True)
class ReportResult:
    rows: list[ReportRow]
    total_rows: int


def check_reachable(dimensions: Sequence[Dimension], selected: Sequence[Selected]) -> None:
    """Every selected metric's data set must reach every dimension; else name both."""
    for item in selected:
        dataset = item.metric.dataset
        for dimension in dimensions:
            if dimension in TIME_DIMENSIONS:
                continue
            if ATTRIBUTES[dimension](dataset) is None:
                raise BadInput(
                    f"Metric `{item.metric.name}` (data set {dataset.value}) cannot be grouped "
                    f"by {dimension.name}: {dataset.value} rows have no {dimension.name} value."
                )


def _sort_value(value: Any) -> tuple[int, Any]:
    """Empty values sort above all others: last ascending, first descending (as connections)."""
    return (1, 0) if value is None else (0, value)


def _ordered(
    rows: list[ReportRow], dimensions: Sequence[Dimension], order: Sequence[OrderKey]
) -> list[ReportRow]:
    # the grouped dimensions always break ties, so the order is total and stable
    keys = list(order) + [OrderKey(d, None, False) for d in dimensions]
    for key in reversed(keys):
        if key.dimension is not None:
            at = dimensions.index(key.dimension)
            rows.sort(key=lambda r: _sort_value(r.key[at]), reverse=key.descending)
        else:
            assert key.metric is not None
            name = key.metric
            rows.sort(key=lambda r: _sort_value(r.values[name]), reverse=key.descending)
    return rows


async def run_report(
    ctx: Context,
    dimensions: Sequence[Dimension],
    selected: Sequence[Selected],
    scope: Scope,
    order: Sequence[OrderKey],
    first: int,
    offset: int,
) -> ReportResult:
    """The rows of a report: SQL groups and aggregates, the data sets' groups meet on the key."""
    for key in order:
        if key.dimension is not None and key.dimension not in dimensions:
            raise BadInput(
                f"`orderBy` names {key.dimension.name}, which is not in `groupBy`; "
                "order by a grouped dimension or by a metric."
            )
    if len({item.metric.dataset for item in selected}) == 1:
        # one data set: SQL orders the groups and keeps the first ones
        keys = [(k.dimension or k.metric, k.descending) for k in order]
        keys += [(d, False) for d in dimensions]
        sql_order = SqlOrder(tuple(k for k in keys if k[0] is not None), first, offset)  # type: ignore[misc]
        found, count = await ordered_groups(ctx, dimensions, selected, scope, sql_order)
        rows = [ReportRow(k, v) for k, v in found.items()]
        return ReportResult(rows[:first], count)
    # several data sets: their groups meet on the key, then the aggregated rows are sorted
    found = await grouped(ctx, dimensions, selected, scope)
    rows = _ordered([ReportRow(k, v) for k, v in found.items()], dimensions, order)
    return ReportResult(rows[offset : offset + first], len(rows))


async def report_total(ctx: Context, selected: Sequence[Selected], scope: Scope) -> Values:
    """The metrics over the whole scope: one ungrouped statement per data set."""
    found = await grouped(ctx, [], selected, scope)
    return found.get((), empty_values(selected))


async def report(
    ctx: Context,
    dimensions: Sequence[Dimension],
    row_metrics: Sequence[Selected] | None,
    total_metrics: Sequence[Selected] | None,
    scope: Scope,
    order: Sequence[OrderKey],
    first: int,
    offset: int = 0,
) -> tuple[ReportResult | None, Values | None]:
    """Rows and total, each only when selected, run concurrently."""
    everything = [*(row_metrics or []), *(total_metrics or [])]
    check_reachable(dimensions, everything)
    check_grouping(scope.viewer, dimensions, {item.metric.dataset for item in everything})

    async def nothing() -> None:
        return None

    rows, total = await asyncio.gather(
        run_report(ctx, dimensions, row_metrics, scope, order, first, offset)
        if row_metrics is not None
        else nothing(),
        report_total(ctx, total_metrics, scope) if total_metrics is not None else nothing(),
    )
    return rows, total


__all__ = ["OrderKey", "ReportResult", "ReportRow", "report"]
