"""Rows that arrive as their response: the database builds each row's JSON.

A page whose rows are read only through `nodes`, and whose selection is made of stored values
and to-one links to more of them, needs no Python per field: the statement that reads the page
also writes each row's answer (`json_build_object` on PostgreSQL, `json_object` on SQLite), with
its linked rows joined and nested, and values already in their GraphQL form (instants as ISO 8601
text, enums by name, booleans as `true`/`false`). `schema/json_shapes.py` decides which
selections can; the others keep the object path, with identical answers.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    String,
    case,
    cast,
    func,
    literal,
    null,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import JSON

from resolvers.entities import Entity, entity
from resolvers.scope import visible, visible_columns
from resolvers.viewer import Viewer
from warehouse.engine import BASE64

JSON_COLUMN = "row_json"
MAX_PAIRS = 50  # PostgreSQL's json_build_object takes at most 100 arguments


class Encoding(enum.Enum):
    """How a stored value becomes its GraphQL output value."""

    AS_IS = "as_is"  # strings and numbers
    FLOAT = "float"  # PostgreSQL writes 3.0 as 3, which reads back as an integer
    BOOLEAN = "boolean"  # SQLite stores 0/1
    INSTANT = "instant"  # epoch seconds -> `2026-11-30T10:00:00+00:00`
    ENUM = "enum"  # stored value -> member name
    TYPENAME = "typename"  # `__typename`: the type's name
    GLOBAL_ID = "global_id"  # `id`: base64 of `Type:key`


@dataclass(frozen=True)
class JsonField:
    """One response key of a row: a stored value, the type's name, or a linked row."""

    key: str
    encoding: Encoding = Encoding.AS_IS
    column: str = ""  # the stored value (GLOBAL_ID: the key)
    constant: str = ""  # TYPENAME, GLOBAL_ID: the type's name
    names: tuple[tuple[str, str], ...] = ()  # ENUM: (stored value, member name)
    link: JsonLink | None = None


@dataclass(frozen=True)
class JsonLink:
    """A to-one link: the row's foreign key and the linked row's own shape."""

    foreign_key: str
    shape: JsonShape


@dataclass(frozen=True)
class JsonShape:
    """What each row of one type answers, in response order."""

    type_name: str
    fields: tuple[JsonField, ...]

    @property
    def columns(self) -> frozenset[str]:
        """The row's own columns the shape reads (its links' foreign keys included)."""
        return frozenset(
            f.link.foreign_key if f.link is not None else f.column
            for f in self.fields
            if f.encoding is not Encoding.TYPENAME
        )


class JsonRows(list[Any]):
    """A page's rows already in their response form (dicts): completed as they are."""


class JsonRow(dict[str, Any]):
    """One row in its response form, where an object is expected (an edge's `node`)."""


def decoded(rows: Iterable[Any]) -> JsonRows:
    """The response values of rows read with `json_column` (the driver decodes the JSON)."""
    return JsonRows(row[JSON_COLUMN] for row in rows)


def json_column(
    rows: Any, shape: JsonShape, dialect: str, source: Any, scoped: Viewer | None = None
) -> tuple[ColumnElement[Any], Any]:
    """The JSON of each row of the subquery `rows`, and `source` (the FROM clause holding
    `rows`) with the shape's links joined to it.

    For a `scoped` viewer a link joins the rows of its target that viewer may see, with the
    hidden columns null: the same `visible` and `visible_columns` every other statement uses.
    """
    counter = itertools.count()

    def linked(target: Entity) -> Any:
        name = f"json{next(counter)}"
        if scoped is None:
            return target.table.alias(name)
        seen = select(*visible_columns(scoped, target)).where(visible(scoped, target))
        return seen.subquery(name)

    def build(columns: Any, current: JsonShape) -> ColumnElement[Any]:
        nonlocal source
        pairs: list[tuple[str, Any]] = []
        for f in current.fields:
            if f.link is not None:
                target = entity(f.link.shape.type_name)
                alias = linked(target)
                source = source.outerjoin(alias, alias.c[target.key] == columns[f.link.foreign_key])
                inner = build(alias.c, f.link.shape)
                value: Any = case((alias.c[target.key].is_(None), null()), else_=inner)
                if dialect == "sqlite":  # keep it an object, not text, inside its parent
                    value = func.json(value)
            else:
                value = _value(f, columns, dialect)
            pairs.append((f.key, value))
        return json_object(pairs, dialect)

    return build(rows.c, shape).label(JSON_COLUMN), source


def json_object(pairs: list[tuple[str, Any]], dialect: str) -> ColumnElement[Any]:
    """The JSON object of `(key, value)` pairs, in their order."""
    function = func.json_build_object if dialect == "postgresql" else func.json_object
    return type_coerce(function(*(x for k, v in pairs for x in (literal(k, String), v))), JSON)


def _value(f: JsonField, columns: Any, dialect: str) -> ClauseElement:
    if f.encoding is Encoding.TYPENAME:
        return literal(f.constant, String)
    column = columns[f.column]
    if f.encoding is Encoding.GLOBAL_ID:
        text = literal(f"{f.constant}:", String) + column
        if dialect == "postgresql":  # `encode` breaks lines every 76 characters
            return func.replace(func.encode(func.convert_to(text, "UTF8"), "base64"), "\n", "")
        return getattr(func, BASE64)(text)
    if f.encoding is Encoding.INSTANT:
        if dialect == "postgresql":
            moment = func.timezone("UTC", func.to_timestamp(column))
            return func.to_char(moment, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')
        return func.strftime("%Y-%m-%dT%H:%M:%S+00:00", column, "unixepoch")
    if f.encoding is Encoding.ENUM:
        return case(*((column == stored, literal(name)) for stored, name in f.names), else_=null())
    if f.encoding is Encoding.FLOAT and dialect == "postgresql":
        whole = func.to_json(func.round(cast(column, Numeric), 1))  # 3 -> 3.0
        return case((column == func.trunc(column), whole), else_=func.to_json(column))
    if f.encoding is Encoding.BOOLEAN and dialect == "sqlite":
        return case(
            (column.is_(None), null()), (column != 0, func.json("true")), else_=func.json("false")
        )
    return column
