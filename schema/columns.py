"""Which warehouse columns a document reads of an entity's rows, so statements select only those.

A segment row has ~75 columns; a dashboard page reads five of them. Selecting all made the nested
page's statement 1.3 ms in SQLite alone (100 rows) and every row a 75-key dict. The answer is
`None`, meaning every column, whenever a selected field is not known to read only its own columns:
a plain attribute reads its column, a resolver declares what it reads (`schema/sources.py`: a
link reads its foreign key), and any other resolver (metrics, computed fields) gets whole rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from graphql import FieldNode, SelectionSetNode
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import get_object_definition

from resolvers.entities import ENTITIES
from resolvers.pages import Join
from schema.base import TYPES, object_builder, selected_nodes
from schema.sources import source_of

Columns = frozenset[str] | None

_NAMES = NameConverter()


@cache
def _reads(type_name: str) -> Mapping[str, tuple[str, ...] | None]:
    """GraphQL field name -> the columns it reads (None: unknown, so all)."""
    table = set(ENTITIES[type_name].table.c.keys())
    reads: dict[str, tuple[str, ...] | None] = {"__typename": ()}
    for field in get_object_definition(TYPES[type_name], strict=True).fields:
        name = _NAMES.get_graphql_name(field)
        if field.base_resolver is None:
            reads[name] = (field.python_name,) if field.python_name in table else None
        else:
            source = source_of(field.base_resolver.wrapped_func)
            reads[name] = None if source is None else source.needs
    return reads


@cache
def _links(type_name: str) -> Mapping[str, tuple[str, str]]:
    """GraphQL field name -> (foreign key, target type) of the type's joinable to-one links."""
    links = {}
    for field in get_object_definition(TYPES[type_name], strict=True).fields:
        resolver = field.base_resolver
        source = source_of(resolver.wrapped_func) if resolver is not None else None
        if source is not None and source.join is not None:
            links[_NAMES.get_graphql_name(field)] = source.join
    return links


def columns_read(
    type_name: str, selection_sets: Iterable[SelectionSetNode | None], fragments: Mapping[str, Any]
) -> Columns:
    """The columns of `type_name` rows the selections read (with the key), or None for all."""
    reads = _reads(type_name)
    needed = {ENTITIES[type_name].key}
    for field in selected_nodes(selection_sets, fragments):
        columns = reads.get(field.name.value)
        if columns is None:
            return None
        needed.update(columns)
    return frozenset(needed)


def connection_rows(field_nodes: Iterable[FieldNode], fragments: Mapping[str, Any]) -> list[Any]:
    """The selection sets applied to a connection's rows: `nodes {…}` and `edges { node {…} }`."""
    rows: list[Any] = []
    for field in selected_nodes((node.selection_set for node in field_nodes), fragments):
        if field.name.value == "nodes":
            rows.append(field.selection_set)
        elif field.name.value == "edges":
            edge_fields = selected_nodes([field.selection_set], fragments)
            rows.extend(f.selection_set for f in edge_fields if f.name.value == "node")
    return rows


def row_keys(field_nodes: Iterable[FieldNode], fragments: Mapping[str, Any]) -> set[str]:
    """The response keys under which a connection's rows are selected (`nodes`, `a: nodes`,
    `edges/node`, `e: edges/n: node`, ...)."""
    keys = set()
    for field in selected_nodes((node.selection_set for node in field_nodes), fragments):
        key = field.alias.value if field.alias else field.name.value
        if field.name.value == "nodes":
            keys.add(key)
        elif field.name.value == "edges":
            for inner in selected_nodes([field.selection_set], fragments):
                if inner.name.value == "node":
                    keys.add(f"{key}/{inner.alias.value if inner.alias else 'node'}")
    return keys


def joins(
    type_name: str, selection_sets: Iterable[SelectionSetNode | None], fragments: Mapping[str, Any]
) -> tuple[Join, ...]:
    """The to-one links the selections read of `type_name` rows, to load with the rows.

    Each is built with the object builder its field will use (the same loader), from the
    columns its own selection reads. A link selected under several aliases is left to its
    loaders: each alias may read other columns.
    """
    links = _links(type_name)
    if not links:
        return ()
    found: dict[str, list[FieldNode]] = {}
    aliases: dict[str, set[str]] = {}
    for field in selected_nodes(selection_sets, fragments):
        name = field.name.value
        if name in links:
            found.setdefault(name, []).append(field)
            aliases.setdefault(name, set()).add(field.alias.value if field.alias else name)
    result = []
    for name, nodes in found.items():
        if len(aliases[name]) > 1:
            continue
        foreign_key, target = links[name]
        columns = columns_read(target, [node.selection_set for node in nodes], fragments)
        result.append(Join(foreign_key, target, columns, object_builder(target, columns)))
    return tuple(result)
