"""The segments behind report rows: one statement for the drill-downs of every row of a page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from strawberry.dataloader import DataLoader

from resolvers.context import Context
from resolvers.entities import ENTITIES
from resolvers.metrics.catalog import DataSet
from resolvers.metrics.compute import Key, Scope, time_range
from resolvers.metrics.dimensions import TIME_DIMENSIONS, Dimension, expression, source
from resolvers.pages import Page, build_page, run, seek_conditions
from resolvers.pagination import OrderSpec, PageArgs, order_clauses, sort_keys
from resolvers.scope import visible, visible_columns

SEGMENT = ENTITIES["Segment"]


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
        tz = ctx.options.timezone
        keys = [expression(d, dataset, tz, span) for d in first.dimensions]
        # rows with an empty dimension value have a NULL key: match it with IS NOT DISTINCT FROM
        matches = or_(
            *(
                and_(*(k.is_not_distinct_from(v) for k, v in zip(keys, m.key, strict=True)))
                for m in members
            )
        )
        position = func.row_number().over(
            partition_by=keys,
            order_by=order_clauses(sort_keys(SEGMENT, first.order), reverse=first.args.backward),
        )
        inner = (
            select(
                *visible_columns(ctx.viewer, SEGMENT),
                *(k.label(f"drill_k{i}") for i, k in enumerate(keys)),
                position.label("drill_position"),
            )
            .select_from(source(dataset, list(first.dimensions)))
            .where(
                matches,
                *first.scope.where(dataset),
                visible(ctx.viewer, SEGMENT),
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
    loader = ctx.loader("drill-down", lambda: DataLoader(lambda r: _load(ctx, r)))
    return await loader.load(request)
