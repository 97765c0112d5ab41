"""Field factories: connection fields, to-one links and date dimensions, each a one-line hand-over
to `resolvers/`. They are factories because every connection takes the same six arguments and every
link resolves the same way; writing them out per field would repeat that thirty times.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.dates import date_parts, zone_named
from resolvers.entities import ENTITIES
from resolvers.filters import compile_filter
from resolvers.pages import (
    Page,
    child_pages,
    child_request,
    count_children,
    count_rows,
    fetch_page,
    fetch_row,
    object_loader,
    skipped_page,
)
from resolvers.pagination import OrderSpec, PageArgs, page_args
from schema.base import (
    JOIN,
    NEEDS,
    TYPES,
    OrderDirection,
    PageInfo,
    context,
    from_row,
    names_any,
    object_builder,
)
from schema.columns import columns_read, connection_rows, joins
from schema.dates import DateDimension
from schema.executor import BIND, Later, settle

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
CURSOR_FIELDS = ("edges", "pageInfo")


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


def to_connection(target: str, page: Page, count: Any, cursors: bool = True) -> Any:
    """The `<target>Connection` of a page; `count` is called only if `totalCount` is selected.

    `cursors=False` (neither `edges` nor `pageInfo` selected) leaves them empty: encoding a
    cursor per row was a top item of the nested-page profile.
    """
    from schema.connections import connection  # generated after the domain modules

    cls = TYPES[target]
    encoded = page.cursors if cursors else []
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=encoded[0] if encoded else None,
        end_cursor=encoded[-1] if encoded else None,
    )
    nodes: list[Any] = [from_row(cls, r, page.columns) for r in page.rows]
    return connection(target, nodes, encoded, info, count)


def connection_field(
    target: str,
    description: str,
    *,
    owner: str | None = None,
    link: str | None = None,
    permission_classes: list[Any] | None = None,
) -> Any:
    """A Relay connection of `target` rows: at the root (no owner) or along `owner.link`."""

    def bind(
        ctx: Context,
        field_nodes: list[Any],
        fragments: Mapping[str, Any],
        filter: Any = None,
        order_by: Any = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Callable[[Any], Any]:
        """Check and compile the arguments once for the field; returns its resolver per parent."""
        args = relay_args(ctx, first, after, last, before)
        order = order_spec(order_by)
        # `{ totalCount }` alone costs the count, not a page of rows nobody reads
        rows_wanted = names_any(field_nodes, ROW_FIELDS, fragments)
        cursors = names_any(field_nodes, CURSOR_FIELDS, fragments)
        row_selections = connection_rows(field_nodes, fragments)
        columns = columns_read(target, row_selections, fragments)
        links = joins(target, row_selections, fragments)
        if owner is None:
            ent = ENTITIES[target]
            condition = compile_filter(ctx.viewer, ent, filter)
            if not rows_wanted:
                skipped = skipped_page(ent, order or ent.order, args, ctx.viewer)

            async def root_page(_root: Any) -> Any:
                if rows_wanted:
                    page = await fetch_page(
                        ctx, ent, condition, order or ent.order, args, columns, links
                    )
                else:
                    page = skipped
                count = partial(count_rows, ctx, ent, condition)
                return to_connection(target, page, count, cursors)

            return root_page
        assert link is not None
        parent = ENTITIES[owner]
        template = child_request(
            ctx.viewer, parent, link, None, filter, order, args, columns, links
        )
        if rows_wanted:
            pages = child_pages(ctx, template)
        else:
            skipped = skipped_page(ENTITIES[target], template.order, args, ctx.viewer)

        def child_page(root: Any) -> Any:
            key = getattr(root, parent.key)
            count = partial(count_child, key)
            if not rows_wanted:
                return to_connection(target, skipped, count, cursors)
            then = partial(to_connection, target, count=count, cursors=cursors)
            return Later(pages.load(key), then)  # type: ignore[arg-type]  # a Future

        def count_child(key: Any) -> Any:
            return count_children(ctx, dataclasses.replace(template, parent=key))

        return child_page

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
        raw = info._raw_info
        resolve_one = bind(
            context(info), raw.field_nodes, raw.fragments,
            filter, order_by, first, after, last, before,
        )  # fmt: skip
        return await settle(resolve_one(root))

    setattr(resolve, BIND, bind)
    setattr(resolve, NEEDS, ())  # the parent's key, which every row carries
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
        # nullable: a failing page (a bad argument, a fault) nulls this field alone, and its
        # siblings (a dashboard's other widgets) keep their data
        "return": lazy(f"{target}Connection") | None,
    }
    return strawberry.field(
        resolver=resolve, description=description, permission_classes=permission_classes
    )


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

    def bind(ctx: Context, field_nodes: list[Any], fragments: Mapping[str, Any]) -> Any:
        if len(hops) == 1:
            # the common case: the batch loader's future itself, no coroutine per field (there
            # are hundreds on a nested page); the loader builds each object once
            ((column, target),) = hops
            selections = [node.selection_set for node in field_nodes]
            columns = columns_read(current, selections, fragments)
            objects = object_loader(ctx, target, object_builder(current, columns), columns)

            def one_hop(root: Any) -> Any:
                key = getattr(root, column)
                return None if key is None else objects.load(key)

            return one_hop

        async def hops_away(root: Any) -> Any:
            row: Any = root
            for column, target in hops:
                key = row[column] if isinstance(row, Mapping) else getattr(row, column)
                row = await fetch_row(ctx, target, key)
                if row is None:
                    return None
            return from_row(TYPES[current], row)

        return hops_away

    def resolve(root: Any, info: Info) -> Any:
        raw = info._raw_info
        return bind(context(info), raw.field_nodes, raw.fragments)(root)

    setattr(resolve, BIND, bind)
    setattr(resolve, NEEDS, (hops[0][0],))
    if len(hops) == 1:
        setattr(resolve, JOIN, (hops[0][0], current))
    resolve.__annotations__ = {
        "root": Any,
        "info": Info,
        "return": Annotated[current, strawberry.lazy(GENERATED_MODULE)] | None,
    }
    return strawberry.field(resolver=resolve, description=description)


def date_field(attribute: str, description: str) -> Any:
    """The date dimension of the instant held by `attribute`, in the workspace time zone."""

    def bind(
        ctx: Context,
        field_nodes: list[Any],
        fragments: Mapping[str, Any],
        time_zone: str | None = None,
    ) -> Any:
        timezone = zone_named(time_zone, ctx.options.timezone)

        def dimension(root: Any) -> DateDimension | None:
            instant = getattr(root, attribute)
            if instant is None:
                return None
            return DateDimension.from_parts(date_parts(instant, timezone))

        return dimension

    def resolve(
        root: Any,
        info: Info,
        time_zone: Annotated[
            str | None,
            strawberry.argument(
                description="IANA time zone of this date (`Asia/Kathmandu`); default: the "
                "workspace's `INSIGHTS_TIMEZONE`."
            ),
        ] = None,
    ) -> DateDimension | None:
        return bind(context(info), [], {}, time_zone)(root)  # type: ignore[no-any-return]

    setattr(resolve, BIND, bind)
    setattr(resolve, NEEDS, (attribute,))
    return strawberry.field(resolver=resolve, description=description)
