"""Which row selections the database can answer as JSON (`resolvers/json_rows.py`).

A selection qualifies when every field in it is a stored value without arguments, `__typename`,
or a to-one link (one hop, joinable) whose own selection qualifies; and nothing in it carries a
directive (`@skip`, `@include`: graphql-core decides those). A non-null field over a column that
may hold NULL does not qualify (its error is graphql-core's to report). Anything else keeps the
object path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from sqlalchemy import Boolean, Date, Float, Integer, String, Text
from strawberry import ID
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from resolvers.entities import ENTITIES
from resolvers.json_rows import MAX_PAIRS, Encoding, JsonField, JsonLink, JsonShape
from schema.base import TYPES
from schema.sources import source_of
from warehouse.types import EpochSeconds

_NAMES = NameConverter()
MAX_LINK_DEPTH = 3
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
) -> JsonShape | None:
    """The JSON shape of `type_name` rows under these selections, or None if one does not fit."""
    nodes = collect(selection_sets, fragments)
    if nodes is None:
        return None
    grouped: dict[str, list[FieldNode]] = {}
    for node in nodes:
        grouped.setdefault(node.alias.value if node.alias else node.name.value, []).append(node)
    if not grouped or len(grouped) > MAX_PAIRS:
        return None
    shape = []
    for key, group in grouped.items():
        made = _field(type_name, key, group, fragments, depth)
        if made is None:
            return None
        shape.append(made)
    return JsonShape(type_name, tuple(shape))


def _field(
    type_name: str, key: str, group: list[FieldNode], fragments: Mapping[str, Any], depth: int
) -> JsonField | None:
    name = group[0].name.value
    if name == "__typename":
        return JsonField(key, Encoding.TYPENAME, constant=type_name)
    field = _fields(type_name).get(name)
    if field is None or any(node.arguments for node in group):
        return None
    resolver = field.base_resolver
    if resolver is None:
        stored = _stored(type_name, name)
        return None if stored is None else dataclasses.replace(stored, key=key)
    source = source_of(resolver.wrapped_func)
    if source is not None and source.json is Encoding.GLOBAL_ID:
        return JsonField(key, Encoding.GLOBAL_ID, ENTITIES[type_name].key, type_name)
    if source is None or source.join is None or depth >= MAX_LINK_DEPTH:
        return None
    foreign_key, target = source.join
    inner = json_shape(target, [node.selection_set for node in group], fragments, depth + 1)
    return None if inner is None else JsonField(key, link=JsonLink(foreign_key, inner))


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
