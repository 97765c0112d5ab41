"""Which row selections the database can answer as JSON (`resolvers/json_rows.py`).

A selection qualifies when every field in it is a stored value without arguments, `__typename`, a
global id, a date dimension, a to-one link (one hop, joinable) whose own selection qualifies, the
page's own rows' `metrics` (not a connection's nested in them), or a nested connection whose rows
qualify (holding at most one more level of them on SQLite, three on PostgreSQL:
`MAX_PAGE_DEPTH`) and whose selection is `nodes`, `edges`, `pageInfo`, `totalCount` and
`__typename` (`connection_keys`); and nothing in it carries a directive (`@skip`, `@include`:
graphql-core decides those). A non-null field over a column that may hold NULL does not qualify
(its error is graphql-core's to report). Anything else keeps the object path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution import VariableValues, get_argument_values
from sqlalchemy import Boolean, Date, Float, Integer, String, Text
from strawberry import ID
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from resolvers.context import Context
from resolvers.date_sql import TYPENAME
from resolvers.dates import zone_named
from resolvers.entities import ENTITIES
from resolvers.errors import BadInput
from resolvers.json_pages import ConnectionKey, ConnectionKeys, Part
from resolvers.json_rows import (
    MAX_PAIRS,
    Encoding,
    JsonChildren,
    JsonDate,
    JsonField,
    JsonLink,
    JsonShape,
)
from resolvers.pagination import seek_conditions
from schema.base import TYPES
from schema.dates import DateDimension
from schema.executor import converted_arguments
from schema.page_plans import PagePlan
from schema.sources import ConnectionSource, source_of
from warehouse.types import EpochSeconds

_NAMES = NameConverter()
MAX_LINK_DEPTH = 3
# levels of connections nested in a page's rows, per engine: SQLite's parser stack refused
# generated statements three levels deep, and kept a margin at two with every feature for every
# role; PostgreSQL has no such stack (the bound keeps one statement's size in check all the same)
MAX_PAGE_DEPTH = {"sqlite": 2, "postgresql": 4}


def max_page_depth(dialect: str) -> int:
    """How many levels of connections a page's rows may nest on this engine."""
    return MAX_PAGE_DEPTH.get(dialect, min(MAX_PAGE_DEPTH.values()))


# (GraphQL-side Python type, column type) pairs whose stored value is the output value as it is;
# Int over BigInteger is not one of them (graphql-core refuses values beyond 32 bits)
_AS_IS = {(str, String), (str, Text), (ID, String), (int, Integer), (date, Date)}


@cache
def _fields(type_name: str) -> Mapping[str, StrawberryField]:
    definition = get_object_definition(TYPES[type_name], strict=True)
    return {_NAMES.get_graphql_name(f): f for f in definition.fields}


def json_shape(
    type_name: str,
    selection_sets: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, Any],
    depth: int = 0,
    ctx: Context | None = None,
) -> JsonShape | None:
    """The JSON shape of `type_name` rows under these selections, or None if one does not fit.

    With the request's `ctx`, nested connections, date dimensions and the rows' own `metrics`
    may fit too (their arguments read with the request's variables: the plan holding this shape
    is kept per variable values, `schema/page_plans.py`).
    """
    grouped = by_key(collect(selection_sets, fragments))
    if not grouped or len(grouped) > MAX_PAIRS:
        return None
    shape = []
    for key, group in grouped:
        made = _field(type_name, key, group, fragments, depth, ctx)
        if made is None:
            return None
        shape.append(made)
    return JsonShape(type_name, tuple(shape))


def _field(
    type_name: str,
    key: str,
    group: list[FieldNode],
    fragments: Mapping[str, Any],
    depth: int,
    ctx: Context | None,
) -> JsonField | None:
    name = group[0].name.value
    if name == "__typename":
        return JsonField(key, Encoding.TYPENAME, constant=type_name)
    field = _fields(type_name).get(name)
    if field is None:
        return None
    resolver = field.base_resolver
    source = source_of(resolver.wrapped_func) if resolver is not None else None
    if source is not None and source.metrics is not None:  # the page's own rows only
        found = source.metrics(ctx, group, fragments) if depth == 0 and ctx is not None else None
        return None if found is None else JsonField(key, metrics=found)
    if source is not None and source.connection is not None and ctx is not None:
        return _children(ctx, type_name, key, group, fragments, field, source.connection, depth)
    if source is not None and source.json is Encoding.DATE and ctx is not None:
        return _date(ctx, type_name, key, group, fragments, source.needs[0])
    if any(node.arguments for node in group):
        return None
    if resolver is None:
        stored = _stored(type_name, name)
        return None if stored is None else dataclasses.replace(stored, key=key)
    if source is not None and source.json is Encoding.GLOBAL_ID:
        return JsonField(key, Encoding.GLOBAL_ID, ENTITIES[type_name].key, type_name)
    if source is None or source.join is None or depth >= MAX_LINK_DEPTH:
        return None
    foreign_key, target = source.join
    selections = [node.selection_set for node in group]
    inner = json_shape(target, selections, fragments, depth + 1, ctx)
    return None if inner is None else JsonField(key, link=JsonLink(foreign_key, inner))


def _children(
    ctx: Context,
    type_name: str,
    key: str,
    group: list[FieldNode],
    fragments: Mapping[str, Any],
    field: StrawberryField,
    connection: ConnectionSource,
    depth: int,
) -> JsonField | None:
    """A nested connection selecting `nodes`, `edges`, `pageInfo`, `totalCount` (and
    `__typename`) of rows that fit, holding pages at most `max_page_depth - 1` deep, or only
    its count; its arguments valid (else its error is GraphQL's to report, at its path)."""
    schema = ctx.graphql_schema
    if schema is None or depth >= MAX_LINK_DEPTH or connection.owner != type_name:
        return None
    field_def = schema.type_map[type_name].fields[group[0].name.value]
    try:
        plan = connection_plan(
            ctx, schema, field_def, field, connection, group, fragments, ctx.variables
        )
    except Exception:  # a bad argument (or a variable not given): GraphQL's path reports it
        return None
    keys = connection_keys(field_def, group, fragments)
    shape = plan.shape
    if (shape is None and plan.skipped is None) or keys is None or plan.template is None:
        return None
    if shape is not None and page_depth(shape) >= max_page_depth(ctx.engine.dialect.name):
        return None
    if shape is not None and shape.aggregates:  # metrics are joined to a page read on its own
        return None
    try:  # a bad cursor: GraphQL's path reports it
        seek_conditions(ENTITIES[connection.target], plan.order, plan.args)
    except BadInput:
        return None
    return JsonField(key, children=JsonChildren(plan.template, keys))


def _date(
    ctx: Context,
    type_name: str,
    key: str,
    group: list[FieldNode],
    fragments: Mapping[str, Any],
    column: str,
) -> JsonField | None:
    """A date dimension of the instant in `column`, its time zone given (or the workspace's)
    and valid (else its error is GraphQL's to report)."""
    schema = ctx.graphql_schema
    if schema is None:
        return None
    field_def = schema.type_map[type_name].fields[group[0].name.value]
    try:
        raw = get_argument_values(field_def, group[0], ctx.variables)
        zone = zone_named(raw.get("timeZone"), ctx.options.timezone)
    except Exception:  # a bad zone: GraphQL's path reports it
        return None
    keys = []
    for inner_key, nodes in by_key(collect([n.selection_set for n in group], fragments)) or ():
        name = nodes[0].name.value
        part = TYPENAME if name == "__typename" else _DATE_PARTS.get(name)
        if part is None or any(n.arguments for n in nodes):
            return None
        keys.append((inner_key, part))
    if not keys:  # a directive inside
        return None
    return JsonField(key, Encoding.DATE, column, date=JsonDate(zone.key, tuple(keys)))


_DATE_PARTS = {
    _NAMES.get_graphql_name(f): f.python_name
    for f in get_object_definition(DateDimension, strict=True).fields
}


def connection_plan(
    ctx: Context,
    schema: GraphQLSchema,
    field_def: GraphQLField,
    field: StrawberryField,
    connection: ConnectionSource,
    group: list[FieldNode],
    fragments: Mapping[str, Any],
    variables: VariableValues | None = None,
) -> PagePlan:
    """The plan `connection_field` makes of this connection with these arguments (raising what
    it raises); its `shape` says whether the database answers the rows as JSON, its `skipped`
    that only the count (or nothing) is selected."""
    raw = get_argument_values(field_def, group[0], variables)
    arguments = converted_arguments(schema, field, raw)
    relay = tuple(arguments.get(k) for k in ("first", "after", "last", "before"))
    flt, order_by = arguments.get("filter"), arguments.get("order_by")
    return connection.prepare(ctx, group, fragments, flt, order_by, relay)


def connection_keys(
    field_def: GraphQLField, group: list[FieldNode], fragments: Mapping[str, Any]
) -> ConnectionKeys | None:
    """The connection's response keys, when it selects only `nodes`, `edges` (`cursor`,
    `node`), `pageInfo`, `totalCount` and `__typename`, without directives."""
    connection = get_named_type(field_def.type)
    assert isinstance(connection, GraphQLObjectType)
    return _keys(connection, [node.selection_set for node in group], fragments, _CONNECTION)


_CONNECTION = {
    "nodes": Part.NODES,
    "edges": Part.EDGES,
    "pageInfo": Part.PAGE_INFO,
    "totalCount": Part.TOTAL_COUNT,
}
_INNER = {
    Part.EDGES: {"cursor": Part.CURSOR, "node": Part.NODE},
    Part.PAGE_INFO: {
        "hasNextPage": Part.HAS_NEXT,
        "hasPreviousPage": Part.HAS_PREVIOUS,
        "startCursor": Part.START_CURSOR,
        "endCursor": Part.END_CURSOR,
    },
}


def _keys(
    object_type: GraphQLObjectType,
    selection_sets: list[SelectionSetNode | None],
    fragments: Mapping[str, Any],
    parts: Mapping[str, Part],
) -> ConnectionKeys | None:
    """The keys of `object_type`'s selections, each field one of `parts` (or `__typename`)."""
    grouped = by_key(collect(selection_sets, fragments))
    if grouped is None:
        return None
    keys = []
    for key, group in grouped:
        name = group[0].name.value
        part = Part.TYPENAME if name == "__typename" else parts.get(name)
        if part is None:
            return None
        inner: ConnectionKeys = ()
        if part in _INNER:
            inner_type = get_named_type(object_type.fields[name].type)
            assert isinstance(inner_type, GraphQLObjectType)
            selections = [node.selection_set for node in group]
            found = _keys(inner_type, selections, fragments, _INNER[part])
            if found is None:
                return None
            inner = found
        typename = object_type.name if part is Part.TYPENAME else ""
        keys.append(ConnectionKey(key, part, typename, inner))
    return tuple(keys)


def page_depth(shape: JsonShape) -> int:
    """How many levels of nested connections the shape's rows (or rows they link to) hold."""
    return max(
        (
            1 + (page_depth(f.children.request.shape) if f.children.request.shape else 0)
            if f.children is not None
            else page_depth(f.link.shape)
            if f.link is not None
            else 0
            for f in shape.fields
        ),
        default=0,
    )


@cache
def _stored(type_name: str, name: str) -> JsonField | None:
    """How the field `name` of `type_name` writes its stored value (its key left empty), or
    None if it cannot (Strawberry resolves `field.type` anew on every read: worth caching)."""
    key = ""
    field = _fields(type_name)[name]
    column = ENTITIES[type_name].table.c.get(field.python_name)
    if column is None:
        return None
    declared = field.type
    nullable = isinstance(declared, StrawberryOptional)
    if nullable:
        declared = declared.of_type  # type: ignore[union-attr]
    elif column.nullable:
        return None
    if isinstance(declared, StrawberryEnumDefinition):
        names = tuple((value.value, value.name) for value in declared.values)
        return JsonField(key, Encoding.ENUM, column.name, names=names)
    stored = column.type
    if declared is datetime and isinstance(stored, EpochSeconds):
        return JsonField(key, Encoding.INSTANT, column.name)
    if declared is float and isinstance(stored, Float):
        return JsonField(key, Encoding.FLOAT, column.name)
    if declared is bool and isinstance(stored, Boolean):
        return JsonField(key, Encoding.BOOLEAN, column.name)
    if (declared, type(stored)) in _AS_IS:
        return JsonField(key, Encoding.AS_IS, column.name)
    return None


def by_key(fields: list[FieldNode] | None) -> list[tuple[str, list[FieldNode]]] | None:
    """The fields by response key, in response order (None stays None: a directive)."""
    if fields is None:
        return None
    grouped: dict[str, list[FieldNode]] = {}
    for node in fields:
        grouped.setdefault(node.alias.value if node.alias else node.name.value, []).append(node)
    return list(grouped.items())


def collect(
    selection_sets: Iterable[SelectionSetNode | None], fragments: Mapping[str, Any]
) -> list[FieldNode] | None:
    """The fields of the selection sets, fragments flattened; None if anything has a directive."""
    found: list[FieldNode] = []
    for selection_set in selection_sets:
        for selection in selection_set.selections if selection_set else ():
            if selection.directives:
                return None
            if isinstance(selection, FieldNode):
                found.append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = collect([selection.selection_set], fragments)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is None or fragment.directives:
                    return None
                inner = collect([fragment.selection_set], fragments)
            else:
                return None
            if inner is None:
                return None
            found += inner
    return found
