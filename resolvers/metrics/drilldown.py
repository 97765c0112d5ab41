"""The segments behind report rows: one statement for the drill-downs of every row of a page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from strawberry.dataloader import DataLoader

from resolvers.context import Context
from resolvers.entities import ENTITIES
from resolvers.errors import BadInput
from resolvers.filters import compile_filter
from resolvers.metrics.catalog import COUNTED, DataSet, Thresholds
from resolvers.metrics.compute import Key, Scope, time_range
from resolvers.metrics.dimensions import TIME_DIMENSIONS, Dimension, expression, source
from resolvers.pages import (
    Page,
    build_page,
    check_order,
    filter_token,
    run,
    run_tuples,
)
from resolvers.pagination import OrderSpec, PageArgs, order_clauses, seek_conditions, sort_keys
from resolvers.scope import visible_columns

SEGMENT = ENTITIES["Segment"]


def narrowed(scope: Scope, metric: str | None, thresholds: Thresholds, flt: Any) -> Scope:
    """A row's scope cut to the segments `metric` counts and to the client's segment filter.

    The filter compiles for the scope's viewer, like every other filter a client sends.
    """
    if metric is None and flt is None:
        return scope
    conditions = [scope.condition]
    if metric is not None:
        if metric not in COUNTED:
            raise BadInput(f"`{metric}` is not computed over segments: it has no segments to list.")
        conditions.append(COUNTED[metric](thresholds))
    token = filter_token(flt)
    if flt is not None:
        conditions.append(compile_filter(scope.viewer, SEGMENT, flt))
    return Scope(
        scope.viewer,
        f"{scope.token}|metric:{metric}|{token}",
        scope.zone,
        scope.start,
        scope.end,
        and_(*conditions),
        filtered=True,
    )


def _matching(keys: list[Any], wanted: list[Key]) -> ColumnElement[bool]:
    """Rows whose key is one of `wanted`; an empty dimension value (NULL) matches NULL."""
    return or_(
        false(),
        *(
            and_(true(), *(k.is_not_distinct_from(v) for k, v in zip(keys, w, strict=True)))
            for w in wanted
        ),
    )


@dataclass(frozen=True)
class DrillDown:
    """One report row's segments; rows of one report batch into one statement."""

    dimensions: tuple[Dimension, ...]
    scope: Scope
    order: OrderSpec
    args: PageArgs
    key: Key


async def _load(ctx: Context, requests: list[DrillDown]) -> list[Page]:
    groups: dict[Any, list[DrillDown]] = defaultdict(list)
    for request in requests:
        groups[(request.dimensions, request.scope, request.order, request.args)].append(request)
    pages: dict[DrillDown, Page] = {}
    for members in groups.values():
        first = members[0]
        dataset = DataSet.SEGMENTS
        needs_span = any(d in TIME_DIMENSIONS for d in first.dimensions)
        span = await time_range(ctx, dataset, first.scope) if needs_span else None
        tz = first.scope.zone
        keys = [expression(d, dataset, tz, span) for d in first.dimensions]
        matches = _matching(keys, [m.key for m in members])
        position = func.row_number().over(
            partition_by=keys,
            order_by=order_clauses(sort_keys(SEGMENT, first.order), reverse=first.args.backward),
        )
        inner = (
            select(
                *visible_columns(first.scope.viewer, SEGMENT),
                *(k.label(f"drill_k{i}") for i, k in enumerate(keys)),
                position.label("drill_position"),
            )
            .select_from(source(dataset, list(first.dimensions)))
            .where(
                matches,
                *first.scope.where(dataset),
                *seek_conditions(SEGMENT, first.order, first.args),
            )
            .subquery()
        )
        statement = select(inner).where(inner.c.drill_position <= first.args.size + 1)
        statement = statement.order_by(inner.c.drill_position)
        by_key: dict[Key, list[Any]] = defaultdict(list)
        for row in await run(ctx, statement):
            by_key[tuple(row[f"drill_k{i}"] for i in range(len(keys)))].append(row)
        for member in members:
            pages[member] = build_page(SEGMENT, first.order, by_key.get(member.key, []), first.args)
    return [pages[r] for r in requests]


async def drill_down(ctx: Context, request: DrillDown) -> Page:
    check_order(request.scope.viewer, SEGMENT, request.order)
    loader = ctx.loader("drill-down", lambda: DataLoader(lambda r: _load(ctx, r)))
    return await loader.load(request)


@dataclass(frozen=True)
class DrillCount:
    """How many segments one report row has; rows of one report batch into one statement."""

    dimensions: tuple[Dimension, ...]
    scope: Scope
    key: Key


async def _load_counts(ctx: Context, requests: list[DrillCount]) -> list[int]:
    groups: dict[Any, list[DrillCount]] = defaultdict(list)
    for request in requests:
        groups[(request.dimensions, request.scope)].append(request)
    counts: dict[DrillCount, int] = {}
    for members in groups.values():
        first = members[0]
        dataset = DataSet.SEGMENTS
        needs_span = any(d in TIME_DIMENSIONS for d in first.dimensions)
        span = await time_range(ctx, dataset, first.scope) if needs_span else None
        keys = [expression(d, dataset, first.scope.zone, span) for d in first.dimensions]
        statement = (
            select(*keys, func.count())
            .select_from(source(dataset, list(first.dimensions)))
            .where(
                _matching(keys, [m.key for m in members]),
                *first.scope.where(dataset),
            )
            .group_by(*keys)
        )
        found = {tuple(row[:-1]): int(row[-1]) for row in await run_tuples(ctx, statement)}
        for member in members:
            counts[member] = found.get(member.key, 0)
    return [counts[r] for r in requests]


async def drill_count(ctx: Context, request: DrillCount) -> int:
    loader = ctx.loader("drill-count", lambda: DataLoader(lambda r: _load_counts(ctx, r)))
    return await loader.load(request)
