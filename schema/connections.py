"""Connection, edge, filter and order types of every entity, derived from its object type.

Each object type declares its attributes once (with descriptions); the filter input offers each
attribute with the operators of its type, the order enum each sortable attribute, and to-one links
nest the linked entity's filter. Other modules refer to these by lazy annotations (see `refs`).
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.types.private import is_private

from resolvers.entities import ENTITIES
from resolvers.json_rows import JsonRow, JsonRows
from schema.agent import Agent, Department, Team
from schema.assessment import Assessment, Supervisor
from schema.base import SCALAR_FILTERS, TYPES, OrderDirection, PageInfo, enum_filter
from schema.customer import Customer
from schema.dead_letter import DeadLetter
from schema.hierarchy import Campaign, Case, Conversation, Initiative, Project
from schema.queue import Queue
from schema.segment import Segment
from schema.workload import WorkloadItem

# the imports above register every node type; these are the entities served
ENTITY_TYPES: list[type] = [
    Segment, Conversation, Case, Campaign, Project, Initiative, Agent, Team, Department,
    Queue, Customer, Supervisor, Assessment, WorkloadItem, DeadLetter,
]  # fmt: skip


@strawberry.type(description="A page of a list, with Relay edges and page info.")
class ConnectionBase:
    page_info: PageInfo = strawberry.field(description="Where this page sits in the whole list.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="Number of rows in the whole list (all pages) under the given filter; "
        "computed only when selected."
    )
    async def total_count(self) -> int:
        return await self._count()


def _attributes(cls: type) -> list[tuple[str, Any, str | None]]:
    """(python name, scalar type, description) of the plain attribute fields of a type."""
    definition = get_object_definition(cls, strict=True)
    hints = typing.get_type_hints(cls, include_extras=True)
    found = []
    for f in definition.fields:
        if f.base_resolver is not None or f.python_name not in hints:
            continue
        if is_private(hints[f.python_name]):
            continue
        args = [a for a in typing.get_args(hints[f.python_name]) if a is not type(None)]
        scalar = args[0] if args else hints[f.python_name]
        if scalar in SCALAR_FILTERS or (isinstance(scalar, type) and issubclass(scalar, enum.Enum)):
            found.append((f.python_name, scalar, f.description))
    return found


def _filter_for(scalar: Any) -> type:
    return SCALAR_FILTERS[scalar] if scalar in SCALAR_FILTERS else enum_filter(scalar)


def _make_filter(cls: type) -> type:
    name = cls.__name__
    ent = ENTITIES[name]
    namespace: dict[str, Any] = {"__module__": __name__}
    for field_name, scalar, description in _attributes(cls):
        if field_name not in ent.table.c:
            continue
        namespace[field_name] = strawberry.field(
            graphql_type=_filter_for(scalar) | None,
            default=None,
            description=description or f"Condition on `{field_name}`.",
        )
    for link, to_one in ent.to_one.items():
        namespace[link] = strawberry.field(
            graphql_type=f"{to_one.target}Filter | None",
            default=None,
            description=f"Condition on the linked {to_one.target} (rows without one never match).",
        )
    for python_name, graphql_name, description in (
        ("and_", "and", "All of these filters hold."),
        ("or_", "or", "At least one of these filters holds."),
        ("not_", "not", "None of these filters holds."),
    ):
        namespace[python_name] = strawberry.field(
            graphql_type=f"list[{name}Filter] | None",
            default=None,
            name=graphql_name,
            description=description,
        )
    filter_cls = type(f"{name}Filter", (), namespace)
    return strawberry.input(
        filter_cls,
        description=f"Conditions on {name} rows; all set conditions must hold.",
    )


def _make_order(cls: type) -> tuple[type, type]:
    name = cls.__name__
    ent = ENTITIES[name]
    members = {
        field_name.upper(): strawberry.enum_value(field_name, description=description)
        for field_name, scalar, description in _attributes(cls)
        if field_name in ent.table.c and not issubclass(scalar, bool)
    }
    field_enum = strawberry.enum(  # type: ignore[call-overload]
        enum.Enum(f"{name}OrderField", members),  # type: ignore[misc]
        description=f"Attributes a list of {name} rows can be sorted by.",
    )
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "field": strawberry.field(graphql_type=field_enum, description="The attribute to sort by."),
        "direction": strawberry.field(
            graphql_type=OrderDirection, default=OrderDirection.ASC, description="Sort direction."
        ),
    }
    order_cls = strawberry.input(
        type(f"{name}Order", (), namespace),
        description=f"One sort key for {name} rows; later keys break ties of earlier ones.",
    )
    return field_enum, order_cls


def _make_connection(cls: type) -> tuple[type, type]:
    name = cls.__name__
    edge = strawberry.type(
        type(
            f"{name}Edge",
            (),
            {
                "__module__": __name__,
                "cursor": strawberry.field(
                    graphql_type=str, description="Pass to `after`/`before` to page from here."
                ),
                "node": strawberry.field(graphql_type=cls, description=f"The {name}."),
            },
        ),
        description=f"A {name} in a page, with its cursor.",
    )
    connection = strawberry.type(
        type(
            f"{name}Connection",
            (ConnectionBase,),
            {
                "__module__": __name__,
                "edges": strawberry.field(
                    graphql_type=list[edge],  # type: ignore[valid-type]
                    description="The rows of this page with their cursors.",
                ),
                "nodes": strawberry.field(
                    graphql_type=list[cls],  # type: ignore[valid-type]
                    description="The rows of this page, without cursors.",
                ),
            },
        ),
        description=f"A page of {name} rows.",
    )
    return edge, connection


GENERATED: dict[str, type] = {}
for _cls in ENTITY_TYPES:
    _name = _cls.__name__
    GENERATED[f"{_name}Filter"] = _make_filter(_cls)
    GENERATED[f"{_name}OrderField"], GENERATED[f"{_name}Order"] = _make_order(_cls)
    GENERATED[f"{_name}Edge"], GENERATED[f"{_name}Connection"] = _make_connection(_cls)
globals().update(GENERATED)
globals().update({cls.__name__: cls for cls in ENTITY_TYPES})

assert set(TYPES) == {cls.__name__ for cls in ENTITY_TYPES}, "every node type is served"


def connection(name: str, rows: list[Any], cursors: list[str], page_info: PageInfo,
               count: Callable[[], Awaitable[int]]) -> Any:  # fmt: skip
    """Build `<name>Connection` from converted rows (no cursors: no edges, none were selected)."""
    edge_cls = GENERATED[f"{name}Edge"]
    nodes = map(JsonRow, rows) if type(rows) is JsonRows else rows  # answers in place of objects
    pairs = zip(cursors, nodes, strict=True) if cursors else ()
    edges = [edge_cls(cursor=c, node=r) for c, r in pairs]
    return GENERATED[f"{name}Connection"](
        edges=edges, nodes=rows, page_info=page_info, _count=count
    )


__all__ = ["GENERATED", "connection", "date", "datetime"]
