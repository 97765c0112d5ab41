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
from sqlalchemy.exc import DBAPIError
from strawberry.types import Info
from strawberry.types.arguments import StrawberryArgument

from resolvers.context import Context
from resolvers.dates import date_parts, zone_named
from resolvers.entities import ENTITIES
from resolvers.filters import compile_filter
from resolvers.json_rows import Encoding, JsonShape, decoded
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
from resolvers.pagination import PAGE_ARGUMENTS, OrderSpec, PageArgs, page_args
from schema.base import (
    TYPES,
    OrderDirection,
    PageInfo,
    context,
    from_row,
    names_any,
    object_builder,
)
from schema.columns import columns_read, connection_rows, joins, row_keys
from schema.dates import DateDimension
from schema.declare import argument, arguments_of, declared_field
from schema.executor import Later, settle
from schema.json_shapes import json_shape
from schema.page_plans import PLANS, PagePlan, given
from schema.sources import ConnectionSource, FieldSource, declare
from warehouse.limits import beyond_engine_limits

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


@dataclasses.dataclass(frozen=True)
class RelayArguments:
    """The page arguments every connection takes (the report's rows take them too)."""

    first: FIRST = None
    after: AFTER = None
    last: LAST = None
    before: BEFORE = None


RELAY_ARGUMENTS = arguments_of(RelayArguments)


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
    nodes: list[Any]
    if page.shaped:
        nodes = decoded(page.rows)
    else:
        nodes = [from_row(cls, r, page.columns) for r in page.rows]
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

    def prepare(
        ctx: Context,
        field_nodes: list[Any],
        fragments: Mapping[str, Any],
        filter: Any,
        order_by: Any,
        relay: tuple[int | None, str | None, int | None, str | None],
    ) -> PagePlan:
        """Check and compile the arguments and the selection (cached: `PLANS`)."""
        args = relay_args(ctx, *relay)
        order = order_spec(order_by)
        # `{ totalCount }` alone costs the count, not a page of rows nobody reads
        rows_wanted = names_any(field_nodes, ROW_FIELDS, fragments)
        cursors = names_any(field_nodes, CURSOR_FIELDS, fragments)
        row_selections = connection_rows(field_nodes, fragments)
        shape = _answer_shape(ctx, target, field_nodes, fragments, row_selections)
        objects = (
            columns_read(target, row_selections, fragments),
            joins(target, row_selections, fragments),
        )
        columns, links = objects
        if shape is not None:  # the rows come back as their answers: no objects, no links
            columns, links = shape.columns | {ENTITIES[target].key}, ()
        if owner is None:
            ent = ENTITIES[target]
            order = order or ent.order
            condition = compile_filter(ctx.viewer, ent, filter)
            template = None
        else:
            assert link is not None
            template = child_request(
                ctx.viewer, ENTITIES[owner], link, None, filter, order, args, columns, links,
                shape,
            )  # fmt: skip
            if shape is not None:
                fallback = dataclasses.replace(template, columns=objects[0], joins=objects[1],
                                               shape=None)  # fmt: skip
                template = dataclasses.replace(template, fallback=fallback, cursors=cursors)
            order, condition = template.order, template.condition
        skipped = None
        if not rows_wanted:  # a root plan's cursors are checked per request (`bind`)
            skipped = skipped_page(ENTITIES[target], order, args, ctx.viewer, owner is not None)
        return PagePlan(
            args, order, cursors, shape, columns, links, condition, template, skipped,
            objects if shape is not None else None,
        )  # fmt: skip

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
        """The field's resolver per parent, from its plan for this document and viewer."""
        relay = (first, after, last, before)
        if owner is None:  # its page size and cursors are checked here and bound at the read
            args = relay_args(ctx, *relay)
            plan = PLANS.get(
                prepare, ctx, field_nodes, fragments, filter, order_by, given(relay),
                PAGE_ARGUMENTS,
            )  # fmt: skip
        else:
            plan = PLANS.get(prepare, ctx, field_nodes, fragments, filter, order_by, relay)
        cursors, skipped = plan.cursors, plan.skipped
        if owner is None:
            ent = ENTITIES[target]
            if skipped is not None:
                skipped = skipped_page(ent, plan.order, args, ctx.viewer)

            async def root_page(_root: Any) -> Any:
                if skipped is None:
                    try:
                        page = await fetch_page(
                            ctx, ent, plan.condition, plan.order, args, plan.columns,
                            plan.links, plan.shape, cursors,
                        )  # fmt: skip
                    except DBAPIError as error:  # too big to write as JSON: read objects
                        if plan.objects is None or not beyond_engine_limits(error):
                            raise
                        columns, links = plan.objects
                        page = await fetch_page(
                            ctx, ent, plan.condition, plan.order, args, columns, links
                        )
                else:
                    page = skipped
                count = partial(count_rows, ctx, ent, plan.condition)
                return to_connection(target, page, count, cursors)

            return root_page
        template = plan.template
        assert template is not None
        parent_key = ENTITIES[template.owner].key

        def count_child(key: Any) -> Any:
            return count_children(ctx, dataclasses.replace(template, parent=key))

        if skipped is not None:

            def counted_only(root: Any) -> Any:
                count = partial(count_child, getattr(root, parent_key))
                return to_connection(target, skipped, count, cursors)

            return counted_only
        pages = child_pages(ctx, template)

        def child_page(root: Any) -> Any:
            key = getattr(root, parent_key)
            then = partial(to_connection, target, count=partial(count_child, key), cursors=cursors)
            return Later(pages.load(key), then)  # type: ignore[arg-type]  # a Future

        return child_page

    arguments = [
        argument(
            "filter",
            lazy(f"{target}Filter") | None,
            "Keep only the rows matching this filter.",
            default=None,
        ),
        argument(
            "order_by",
            list[lazy(f"{target}Order")] | None,  # type: ignore[misc]
            "Sort keys, most significant first.",
            default=None,
        ),
        *RELAY_ARGUMENTS,
    ]
    # nullable: a failing page (a bad argument, a fault) nulls this field alone, and its siblings
    # (a dashboard's other widgets) keep their data
    returns = lazy(f"{target}Connection") | None
    connection = ConnectionSource(target, owner, prepare)
    # needs nothing but the parent's key, which every row carries
    source = FieldSource(needs=(), bind=bind, connection=connection)
    return bound_field(source, returns, arguments, description, permission_classes)


def _answer_shape(
    ctx: Context,
    target: str,
    field_nodes: list[Any],
    fragments: Mapping[str, Any],
    row_selections: list[Any],
) -> JsonShape | None:
    """The JSON shape the database answers the connection's rows in, or None for objects: for
    rows read under one response key (`nodes`, or `edges { node }`: one answer serves one
    selection)."""
    if not (ctx.options.json_rows and ctx.takes_json_rows) or not row_selections:
        return None
    if len(row_keys(field_nodes, fragments)) != 1:
        return None
    return json_shape(target, row_selections, fragments, ctx=ctx)


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

    join = (hops[0][0], current) if len(hops) == 1 else None
    source = FieldSource(needs=(hops[0][0],), bind=bind, join=join)
    return bound_field(source, lazy(current) | None, [], description)


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

    zone = argument(
        "time_zone",
        str | None,
        "IANA time zone of this date (`Asia/Kathmandu`); default: the workspace's "
        "`INSIGHTS_TIMEZONE`.",
        default=None,
    )
    source = FieldSource(needs=(attribute,), bind=bind, json=Encoding.DATE)
    return bound_field(source, DateDimension | None, [zone], description)


def bound_field(
    source: FieldSource,
    returns: Any,
    arguments: list[StrawberryArgument],
    description: str,
    permission_classes: list[Any] | None = None,
) -> Any:
    """A Strawberry field served by `source.bind`, with its arguments declared.

    The executor's fast lane calls the binder once per query; graphql-core's path (permission
    checks, middleware, a field it cannot plan) calls it per object through `resolve`.
    """
    bind = source.bind
    assert bind is not None

    async def resolve(root: Any, info: Info, **values: Any) -> Any:
        raw = info._raw_info
        return await settle(bind(context(info), raw.field_nodes, raw.fragments, **values)(root))

    declare(resolve, source)
    return declared_field(
        resolve,
        returns=returns,
        arguments=arguments,
        description=description,
        permission_classes=permission_classes,
    )
