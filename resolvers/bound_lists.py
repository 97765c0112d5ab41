"""`in`/`notIn` against a list given as one bound parameter, whatever its length.

A dashboard whose picker sends `filter: {queue: {in: $queues}}` sends a new list with every
choice. Compiled with its values, `IN (…)` has one placeholder per element: each list was a new
plan, a new statement, and never a whole answer. Bound as one parameter, the statement is the
same for every list: `column = ANY($1)` with an array on PostgreSQL, `column IN (SELECT value
FROM json_each(?))` with the list as JSON text on SQLite. An empty list matches nothing, as
`IN ()` does; the rules for NULL are those of `IN` (a NULL column is in no list). SQLite's planner
cannot see into `json_each`: it reads rows in the page's order and keeps the listed ones, which is
fast when the list matches many rows and reads the whole range when it matches none (README).

`schema/variable_binds.py` hands such a variable to the filter compiler as a `BoundList` inside a
one-element list: Strawberry copies a list of leaf values through as it is, and a list is what
the filter's `in` field holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Boolean, ColumnElement, String, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine


@dataclass(frozen=True)
class BoundList:
    """A list variable's parameter, standing where the filter's list of values would be.
    `single`: the list has one element, bound as that value and compared with `=`: PostgreSQL
    15 reads `column = value` from an index beside an ordered scan, `column = ANY(array)` it
    only filters the fetched rows with (a picker of one queue, the most common choice, would
    read every row of the window's latest ones until the page is full)."""

    bind: BindParameter[Any]
    single: bool = False


def bound_list(values: Any) -> BoundList | None:
    """What stands for a bound list in a filter's `in`/`notIn` value, else None."""
    if isinstance(values, list) and len(values) == 1 and isinstance(values[0], BoundList):
        return values[0]
    return None


class ListValues(TypeDecorator[list[Any]]):
    """A list bound as one value: an array of the column's type on PostgreSQL, JSON text on
    SQLite (which `json_each` reads)."""

    impl = String
    cache_ok = True

    def __init__(self, element: TypeEngine[Any]) -> None:
        super().__init__()
        self.element = element

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(self.element))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else json.dumps(list(value))


class InBound(ColumnElement[bool]):
    """`column` is one of the bound list's values."""

    __visit_name__ = "in_bound"
    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], bind: BindParameter[Any]) -> None:
        self.column = column
        self.values = type_coerce(bind, ListValues(column.type))


@compiles(InBound, "postgresql")
def _in_array(element: InBound, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"({column} = ANY({values}))"


@compiles(InBound)
def _in_json(element: InBound, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"({column} IN (SELECT value FROM json_each({values})))"
