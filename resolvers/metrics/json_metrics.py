"""An entity's `metrics` written into its row's JSON by the statement that reads the page.

A dashboard lists 50 queues or teams, each with a few metrics. Through GraphQL that is one
grouped statement per data set, then 50 `metrics` objects and their values completed in Python on
the event loop. Here each data set's grouped statement (`resolvers/metrics/grouped_sql.py`, the
same one, its groups restricted to the page's keys) is LEFT JOINed to the page's rows by their
key, and each row's JSON holds its `metrics` object: no Python per row or value.

Values are written as GraphQL writes them: counts and sums as integers (0 over no rows),
maxima as integers or null, averages and ratios as floats or null, a whole float with its `.0`;
SQLite writes a float with 17 significant digits (its JSON functions round to 15), which reads
back as the same double. One difference is left: GraphQL refuses an `Int` beyond 32 bits with an
error, while the JSON holds the number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Numeric,
    String,
    case,
    cast,
    func,
    literal,
    null,
    select,
)

from resolvers.json_pages import json_object
from resolvers.metrics.catalog import DataSet, Metric
from resolvers.metrics.dimensions import Dimension
from resolvers.metrics.grouped_sql import Scope, Selected, grouped_statement

TYPENAME = "Metrics"


@dataclass(frozen=True)
class JsonMetrics:
    """One `metrics` field of a page's rows: the entity's dimension, the rows it covers, and
    its response keys in order, each a metric or (None) `__typename`."""

    dimension: Dimension
    scope: Scope
    keys: tuple[tuple[str, Selected | None], ...]

    def by_dataset(self) -> dict[DataSet, list[Selected]]:
        grouped: dict[DataSet, list[Selected]] = defaultdict(list)
        for _, item in self.keys:
            if item is not None:
                grouped[item.metric.dataset].append(item)
        return grouped


def joined_metrics(
    metrics: JsonMetrics,
    key: ColumnElement[Any],
    source: Any,
    dialect: str,
    name: Callable[[], str],
) -> tuple[ColumnElement[Any], Any]:
    """The `metrics` object of each row whose key is `key` (a column of the page's rows), and
    `source` (the FROM clause holding them) with one grouped statement per data set joined to
    it; `name` names each joined statement."""
    page_keys = select(key).correlate(None)  # the page's own rows, not the row at hand
    values: dict[str, ColumnElement[Any]] = {}
    for dataset, items in metrics.by_dataset().items():
        restrict = (metrics.dimension, page_keys)
        grouped = grouped_statement(
            dataset, [metrics.dimension], items, metrics.scope, dialect, restrict=restrict
        ).subquery(name())
        source = source.outerjoin(grouped, grouped.c.k0 == key)
        for index, item in enumerate(items):
            values[item.key] = grouped.c[f"m{index}"]
    return metrics_object(metrics.keys, values, dialect), source


def metrics_object(
    keys: tuple[tuple[str, Selected | None], ...],
    values: Mapping[str, ColumnElement[Any]],
    dialect: str,
) -> ColumnElement[Any]:
    """A `Metrics` object: each response key's metric, from its aggregate in `values`, as
    GraphQL writes it (`metric_json`), or the type's name."""
    pairs = [
        (key, literal(TYPENAME, String) if item is None else metric_json(item.metric, values[key],
                                                                          dialect))
        for key, item in keys
    ]  # fmt: skip
    return json_object(pairs, dialect)


def metric_json(metric: Metric, value: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """`value` (the grouped statement's, null where the row has no group) as the metric's
    GraphQL value, the way `resolvers/metrics/compute.py` converts it."""
    if metric.integer:  # Python's int(): toward zero
        exact = func.trunc(cast(value, Numeric)) if dialect == "postgresql" else value
        whole = cast(exact, BigInteger)
        return whole if metric.empty is None else func.coalesce(whole, metric.empty)
    number = cast(value, Float)
    if dialect == "postgresql":  # 3.0 stays 3.0, the rest in the shortest exact form
        written = func.to_json(func.round(cast(number, Numeric), 1))
        return case((number == func.trunc(number), written), else_=func.to_json(number))
    return case((value.is_(None), null()), else_=func.json(func.printf("%!.17g", number)))
