"""Field factories: connection fields, to-one links and date dimensions, each a one-line hand-over
to `resolvers/`. They are factories because every connection takes the same six arguments and every
link resolves the same way; writing them out per field would repeat that thirty times.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.dates import date_parts
from resolvers.entities import ENTITIES
from resolvers.filters import compile_filter
from resolvers.pages import (
    Page,
    child_request,
    count_children,
    count_rows,
    fetch_child_page,
    fetch_object,
    fetch_page,
    fetch_row,
    skipped_page,
)
from resolvers.pagination import OrderSpec, PageArgs, page_args
from schema.base import TYPES, OrderDirection, PageInfo, context, from_row, selects_any
from schema.dates import DateDimension

GENERATED_MODULE = "schema.connections"


def lazy(name: str) -> Any:
    """A lazy reference to a generated type (filters, orders, connections)."""
    return Annotated[name, strawberry.lazy(GENERATED_MODULE)]


FIRST = Annotated[
    int | None,
    strawberry.argument(
        description="Return the first n rows after `after` (default 50; above the cap is an error)."
    ),
]
AFTER = Annotated[
    str | None, strawberry.argument(description="Cursor of the row the page starts after.")
]
LAST = Annotated[
    int | None,
    strawberry.argument(description="Return the last n rows before `before` (not with `first`)."),
]
BEFORE = Annotated[
    str | None, strawberry.argument(description="Cursor of the row the page ends before.")
]


ROW_FIELDS = ("edges", "nodes", "pageInfo")


def relay_args(
    ctx: Context, first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    """A connection field's Relay arguments, checked against the page-size settings."""
    options = ctx.options
    return page_args(
        first, after, last, before, default=options.default_page_size, cap=options.max_page_size
    )


def order_spec(order_by: list[Any] | None) -> OrderSpec:
    return tuple((o.field.value, o.direction == OrderDirection.DESC) for o in order_by or [])


def to_connection(target: str, page: Page, count: Any) -> Any:
    from schema.connections import connection  # generated after the domain modules

    cls = TYPES[target]
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
    return connection(target, [from_row(cls, r) for r in page.rows], page.cursors, info, count)


def connection_field(
    target: str,
    description: str,
    *,
    owner: str | None = None,
    link: str | None = None,
    permission_classes: list[Any] | None = None,
) -> Any:
    """A Relay connection of `target` rows: at the root (no owner) or along `owner.link`."""

    async def resolve(
        root: Any,
        info: Info,
        filter: Any = None,
        order_by: Any = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Any:
        ctx = context(info)
        args = relay_args(ctx, first, after, last, before)
        order = order_spec(order_by)
        # `{ totalCount }` alone costs the count, not a page of rows nobody reads
        rows_wanted = selects_any(info, ROW_FIELDS)
        if owner is None:
            ent = ENTITIES[target]
            condition = compile_filter(ent, filter, ctx.viewer)
            if rows_wanted:
                page = await fetch_page(ctx, ent, condition, order or ent.order, args)
            else:
                page = skipped_page(ent, order or ent.order, args, ctx.viewer)
            return to_connection(target, page, lambda: count_rows(ctx, ent, condition))
        assert link is not None
        parent = ENTITIES[owner]
        request = child_request(
            parent, link, getattr(root, parent.key), filter, order, args, ctx.viewer
        )
        if rows_wanted:
            page = await fetch_child_page(ctx, request)
        else:
            page = skipped_page(ENTITIES[target], request.order, args, ctx.viewer)
        return to_connection(target, page, lambda: count_children(ctx, request))

    resolve.__annotations__ = {
        "root": Any,
        "info": Info,
        "filter": Annotated[
            lazy(f"{target}Filter") | None,
            strawberry.argument(description="Keep only the rows matching this filter."),
        ],
        "order_by": Annotated[
            list[lazy(f"{target}Order")] | None,  # type: ignore[misc]
            strawberry.argument(description="Sort keys, most significant first."),
        ],
        "first": FIRST,
        "after": AFTER,
        "last": LAST,
        "before": BEFORE,
        "return": lazy(f"{target}Connection"),
    }
    return strawberry.field(
        resolver=resolve, description=description, permission_classes=permission_classes
    )


@cache
def _object_builder(type_name: str) -> Callable[[Any], Any]:
    """`from_row` for one type, the same object every time (it keys the object loader)."""
    return partial(from_row, TYPES[type_name])


def to_one_field(owner: str, *path: str, description: str) -> Any:
    """The row reached from `owner` along to-one links (`"conversation", "case"`).

    Each hop is one batched statement for all siblings, whatever their number.
    """
    hops = []
    current = owner
    for link in path:
        to_one = ENTITIES[current].to_one[link]
        hops.append((to_one.column, ENTITIES[to_one.target]))
        current = to_one.target

    async def resolve(root: Any, info: Info) -> Any:
        ctx = context(info)
        row: Any = root
        for column, target in hops:
            key = row[column] if isinstance(row, Mapping) else getattr(row, column)
            row = await fetch_row(ctx, target, key)
            if row is None:
                return None
        return from_row(TYPES[current], row)

    if len(hops) == 1:
        # One hop, the common case: hand graphql-core the batch loader's future itself. No
        # coroutine per field (there are hundreds on a nested page); the loader builds objects.
        ((column, target),) = hops

        def resolve_one(root: Any, info: Info) -> Any:
            key = getattr(root, column)
            if key is None:
                return None
            return fetch_object(context(info), target, _object_builder(current), key)

        resolve_one.__annotations__ = {
            "root": Any,
            "info": Info,
            "return": Annotated[current, strawberry.lazy(GENERATED_MODULE)] | None,
        }
        return strawberry.field(resolver=resolve_one, description=description)

    resolve.__annotations__ = {
        "root": Any,
        "info": Info,
        "return": Annotated[current, strawberry.lazy(GENERATED_MODULE)] | None,
    }
    return strawberry.field(resolver=resolve, description=description)


def date_field(attribute: str, description: str) -> Any:
    """The date dimension of the instant held by `attribute`, in the workspace time zone."""

    def resolve(root: Any, info: Info) -> DateDimension | None:
        instant = getattr(root, attribute)
        if instant is None:
            return None
        return DateDimension.from_parts(date_parts(instant, context(info).options.timezone))

    return strawberry.field(resolver=resolve, description=description)
