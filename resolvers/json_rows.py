"""Rows that arrive as their response: the database builds each row's JSON.

A page whose rows are read under one key (`nodes`, or `edges { node }`), and whose selection is
made of stored values, to-one links to more of them and nested pages of them, needs no Python
per field: the statement that reads the page also writes each row's answer (`json_build_object`
on PostgreSQL, `json_object` on SQLite), its linked rows joined, its nested pages (and their
linked rows) and their counts as correlated subqueries (`resolvers/json_pages.py` writes a
page's edges, cursors and page info), a root page's metrics joined
(`resolvers/metrics/json_metrics.py`), and values already in their GraphQL form (instants as
ISO 8601 text, enums by name, booleans as `true`/`false`). `schema/json_shapes.py` decides which
selections can; the others keep the object path, with identical answers.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
)
from sqlalchemy.sql.elements import ClauseElement

from resolvers.date_sql import date_json
from resolvers.entities import Entity, entity
from resolvers.json_pages import (
    JSON_COLUMN,
    ConnectionKeys,
    PageRows,
    Part,
    connection_json,
    count_json,
    json_object,
    reads_cursors,
    reads_page_info,
    selects,
)
from resolvers.metrics.json_metrics import JsonMetrics, joined_metrics
from resolvers.pagination import full_order, order_clauses, seek_conditions, sort_keys
from resolvers.scope import visible, visible_columns
from resolvers.sql_cursors import cursor_text
from resolvers.viewer import Viewer
from warehouse.engine import BASE64

if TYPE_CHECKING:
    from resolvers.pages import ChildRequest

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
    DATE = "date"  # `date { … }`: the date dimension of an instant (`resolvers/date_sql.py`)


@dataclass(frozen=True)
class JsonField:
    """One response key of a row: a stored value, the type's name, or a linked row."""

    key: str
    encoding: Encoding = Encoding.AS_IS
    column: str = ""  # the stored value (GLOBAL_ID: the key)
    constant: str = ""  # TYPENAME, GLOBAL_ID: the type's name
    names: tuple[tuple[str, str], ...] = ()  # ENUM: (stored value, member name)
    link: JsonLink | None = None
    children: JsonChildren | None = None
    date: JsonDate | None = None  # DATE: the instant in `column`
    metrics: JsonMetrics | None = None  # the row's `metrics` (a page's own rows only)


@dataclass(frozen=True)
class JsonDate:
    """A date dimension: its time zone and keys, (response key, `DateParts` field or
    `__typename`)."""

    zone: str
    keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class JsonLink:
    """A to-one link: the row's foreign key and the linked row's own shape."""

    foreign_key: str
    shape: JsonShape


@dataclass(frozen=True)
class JsonChildren:
    """A nested connection answered inside its parent's row: the parent's page of `request`
    (the connection's plan, its parent left out: link, order, page, scoped filter, the rows'
    shape, None when only `totalCount` is selected) as an object of `keys`."""

    request: ChildRequest
    keys: ConnectionKeys


@dataclass(frozen=True)
class JsonShape:
    """What each row of one type answers, in response order."""

    type_name: str
    fields: tuple[JsonField, ...]

    @property
    def aggregates(self) -> bool:
        """Whether the rows' JSON holds metrics: its statement aggregates (a slow read)."""
        return any(f.metrics is not None for f in self.fields)

    @property
    def columns(self) -> frozenset[str]:
        """The row's own columns the shape reads (its links' foreign keys, and its key for
        its nested connections, included)."""
        return frozenset(
            f.link.foreign_key
            if f.link is not None
            else entity(self.type_name).key
            if f.children is not None or f.metrics is not None
            else f.column
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

    For a `scoped` viewer links and nested connections read only the rows of their target that
    viewer may see, with the hidden columns null: the same `visible` and `visible_columns` every
    other statement uses.
    """
    writer = _Writer(dialect, scoped, source)
    return writer.row(rows, shape, join=True).label(JSON_COLUMN), writer.source


class _Writer:
    """Writes rows' JSON for one statement (its aliases numbered across nested pages)."""

    def __init__(self, dialect: str, scoped: Viewer | None, source: Any) -> None:
        self.dialect = dialect
        self.scoped = scoped
        self.source = source  # the page's FROM clause, its rows' links joined to it
        self.counter = itertools.count()

    def _name(self) -> str:
        return f"json{next(self.counter)}"

    def _linked(self, target: Entity) -> Any:
        name = self._name()
        if self.scoped is None:
            return target.table.alias(name)
        seen = select(*visible_columns(self.scoped, target)).where(visible(self.scoped, target))
        return seen.subquery(name)

    def row(self, rows: Any, shape: JsonShape, join: bool) -> ColumnElement[Any]:
        """The JSON of each row of `rows` (a FROM clause).

        `join`: the page's own rows, whose links are LEFT JOINed to `source` (each linked table
        read once for the page); else rows of a nested page, whose links are subqueries by key
        (a join there would be redone for every parent row).
        """
        pairs: list[tuple[str, Any]] = []
        for f in shape.fields:
            if f.link is not None and join:
                value: Any = self._joined_row(rows, f.link)
            elif f.link is not None:
                value = self._linked_row(rows, f.link)
            elif f.children is not None:
                value = self._children(rows, f.children)
            elif f.metrics is not None:
                assert join, "metrics are joined to a page's own rows only"
                key = rows.c[entity(shape.type_name).key]
                value, self.source = joined_metrics(
                    f.metrics, key, self.source, self.dialect, self._name
                )
            elif f.date is not None:
                instant = rows.c[f.column]
                dimension = date_json(instant, rows, f.date.zone, f.date.keys, self.dialect)
                value = case((instant.is_(None), null()), else_=dimension)
            else:
                value = _value(f, rows.c, self.dialect)
            if self.dialect == "sqlite" and (f.link or f.children or f.date or f.metrics):
                value = func.json(value)  # keep it JSON, not text, inside its parent
            pairs.append((f.key, value))
        return json_object(pairs, self.dialect)

    def _joined_row(self, rows: Any, link: JsonLink) -> Any:
        """The linked row's JSON (null when there is none), its table joined to the page."""
        target = entity(link.shape.type_name)
        alias = self._linked(target)
        on = alias.c[target.key] == rows.c[link.foreign_key]
        self.source = self.source.outerjoin(alias, on)
        inner = self.row(alias, link.shape, join=True)
        return case((alias.c[target.key].is_(None), null()), else_=inner)

    def _linked_row(self, rows: Any, link: JsonLink) -> Any:
        """The linked row's JSON (null when there is none): a correlated subquery by its key,
        one index lookup per row whatever the planner thinks of the linked table's size."""
        target = entity(link.shape.type_name)
        alias = self._linked(target)
        found = select(self.row(alias, link.shape, join=False)).where(
            alias.c[target.key] == rows.c[link.foreign_key]
        )
        return found.correlate(rows).scalar_subquery()

    def _children(self, parent: Any, children: JsonChildren) -> Any:
        """The parent row's page of a nested connection (or only its count, when no row is
        selected): a correlated subquery."""
        request = children.request
        args = request.args
        assert args is not None
        owner = entity(request.owner)
        link = owner.to_many[request.link]
        target = entity(link.target)
        key = parent.c[owner.key]
        if link.via_column is not None:
            match = target.table.c[link.via_column] == key
        else:
            assert link.through is not None and link.through_parent and link.through_target
            through = link.through.c
            paired = (
                select(through[link.through_target])
                .where(through[link.through_parent] == key)
                .correlate(parent)
            )
            match = target.key_column.in_(paired)
        where = [match, request.condition]
        columns: list[Any] = list(target.table.columns)
        if self.scoped is not None:
            where.append(visible(self.scoped, target))
            columns = visible_columns(self.scoped, target)
        keys = children.keys
        total = None
        if selects(keys, Part.TOTAL_COUNT):  # `count_children`'s count, for this parent
            count = select(func.count()).select_from(target.table).where(*where)
            total = count.correlate(parent).scalar_subquery()
        if request.shape is None:  # `totalCount` (and `__typename`) alone: no rows read
            assert total is not None
            return count_json(keys, total, self.dialect)
        read = request.shape.columns | {n for n, _ in full_order(target, request.order)}
        columns = [c for c in columns if c.name in read]
        rows = (
            select(*columns)
            .where(*where, *seek_conditions(target, request.order, args))
            .order_by(*order_clauses(sort_keys(target, request.order), args.backward))
            .limit(args.size + 1 if reads_page_info(keys) else args.size)
            .correlate(parent)  # the parent's row, from the statement around
            .subquery()
        )
        sorted_by = sort_keys(target, request.order, columns=rows.c)
        cursor = None
        if reads_cursors(keys):
            cursor = cursor_text(target, request.order, rows.c, self.dialect)
        page = PageRows(
            rows, self.row(rows, request.shape, join=False), cursor,
            order_clauses(sorted_by, args.backward), order_clauses(sorted_by), args.size,
            args.backward, args.after is not None, args.before is not None, total,
        )  # fmt: skip
        return connection_json(keys, page, self.dialect)


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
