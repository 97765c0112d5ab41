"""A connection's answer written by the database: its rows, edges, cursors and page info.

A page whose rows are answered as JSON (`resolvers/json_rows.py`) is one JSON object the
statement writes under the document's keys: `nodes` (the rows' answers), `edges` (each row's
cursor and answer), `pageInfo`, `__typename` and `totalCount` (a count of the same rows as the
GraphQL path's, in a subquery; for a nested page, correlated to its parent's row), in the
document's order. The rows are read up to one more than the page size when `pageInfo` is
selected, as `fetch_page` reads them: the extra row says whether there is a next (or, for
`last`, a previous) page, and is left out of the answer. Cursors are
`resolvers/sql_cursors.py`'s, the same text Python writes. Root pages answered whole and nested
pages inside their parents' rows are written by this one function.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    case,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.types import JSON

JSON_COLUMN = "row_json"
CURSOR_COLUMN = "row_cursor"
POSITION = "row_position"  # in the order the rows were read (reversed for `last`)
COUNT = "row_count"  # rows read, the extra one included


class Part(enum.Enum):
    """What a key of a connection's answer (or of its edges, or its page info) holds."""

    TYPENAME = "__typename"
    NODES = "nodes"
    EDGES = "edges"
    PAGE_INFO = "pageInfo"
    CURSOR = "cursor"
    NODE = "node"
    HAS_NEXT = "hasNextPage"
    HAS_PREVIOUS = "hasPreviousPage"
    START_CURSOR = "startCursor"
    END_CURSOR = "endCursor"
    TOTAL_COUNT = "totalCount"


@dataclass(frozen=True)
class ConnectionKey:
    """One response key of a connection's answer."""

    key: str
    part: Part
    name: str = ""  # TYPENAME: the type's name
    keys: tuple[ConnectionKey, ...] = ()  # EDGES, PAGE_INFO: their own keys


ConnectionKeys = tuple[ConnectionKey, ...]


def selects(keys: ConnectionKeys, *parts: Part) -> bool:
    """Whether any of `parts` is selected, at any level of `keys`."""
    return any(k.part in parts or selects(k.keys, *parts) for k in keys)


def reads_page_info(keys: ConnectionKeys) -> bool:
    """Whether the answer needs the extra row (then read `size + 1` rows)."""
    return selects(keys, Part.PAGE_INFO)


def reads_cursors(keys: ConnectionKeys) -> bool:
    """Whether the answer holds cursors (then pass `PageRows.cursor`)."""
    return selects(keys, Part.CURSOR, Part.START_CURSOR, Part.END_CURSOR)


@dataclass(frozen=True)
class PageRows:
    """A page's rows as a statement reads them: up to `size` rows, one more with page info."""

    source: Any  # the FROM clause of the rows
    answer: Any  # each row's JSON
    cursor: Any  # each row's cursor text; None when none is selected
    read_order: list[Any]  # the order the rows were read in (reversed for `last`)
    forward: list[Any]  # the page's order
    size: Any
    backward: bool
    after: bool  # an `after` cursor was given
    before: bool
    total: Any = None  # the rows of the connection, the page aside (a scalar subquery)


def connection_json(keys: ConnectionKeys, page: PageRows, dialect: str) -> Any:
    """The connection's JSON object (a scalar subquery)."""
    columns = [
        page.answer.label(JSON_COLUMN),
        func.row_number().over(order_by=page.read_order).label(POSITION),
    ]
    if page.cursor is not None:
        columns.append(page.cursor.label(CURSOR_COLUMN))
    if reads_page_info(keys):
        columns.append(func.count().over().label(COUNT))
    layer = select(*columns).select_from(page.source)
    if dialect == "sqlite":  # json_group_array takes the rows in the order they come
        layer = layer.order_by(*page.forward)
    rows = layer.subquery()
    writer = _Aggregates(rows, page, dialect, reads_page_info(keys))
    return select(writer.connection(keys)).select_from(rows).scalar_subquery()


class _Aggregates:
    """The aggregates over one page's numbered rows that make its answer."""

    def __init__(self, rows: Any, page: PageRows, dialect: str, extra: bool) -> None:
        self.rows = rows
        self.page = page
        self.dialect = dialect
        self.kept = rows.c[POSITION] <= page.size if extra else None

    def connection(self, keys: ConnectionKeys) -> ColumnElement[Any]:
        pairs = []
        for k in keys:
            if k.part is Part.TYPENAME:
                value: Any = literal(k.name, String)
            elif k.part is Part.NODES:
                value = self._array(self._node())
            elif k.part is Part.EDGES:
                value = self._array(self._edge(k.keys))
            elif k.part is Part.TOTAL_COUNT:
                assert self.page.total is not None, "a count the page was not given"
                value = self.page.total
            else:
                value = self._page_info(k.keys)
            pairs.append((k.key, value))
        return json_object(pairs, self.dialect)

    def _node(self) -> Any:
        answer = self.rows.c[JSON_COLUMN]
        return func.json(answer) if self.dialect == "sqlite" else answer

    def _edge(self, keys: ConnectionKeys) -> Any:
        pairs = []
        for k in keys:
            if k.part is Part.TYPENAME:
                value: Any = literal(k.name, String)
            elif k.part is Part.CURSOR:
                value = self.rows.c[CURSOR_COLUMN]
            else:
                value = self._node()
            pairs.append((k.key, value))
        return json_object(pairs, self.dialect)

    def _array(self, value: Any) -> Any:
        """The rows' `value`s, the extra row left out, in the page's order ([] for none)."""
        if self.dialect == "postgresql":
            position = self.rows.c[POSITION]
            forward = position.desc() if self.page.backward else position.asc()
            array: Any = func.json_agg(aggregate_order_by(value, forward))
            if self.kept is not None:
                array = array.filter(self.kept)
            return func.coalesce(array, literal_column("'[]'::json"))
        array = func.json_group_array(value)
        return array.filter(self.kept) if self.kept is not None else array

    def _page_info(self, keys: ConnectionKeys) -> Any:
        page = self.page
        pairs = []
        for k in keys:
            if k.part is Part.TYPENAME:
                value: Any = literal(k.name, String)
            elif k.part in (Part.HAS_NEXT, Part.HAS_PREVIOUS):
                # the extra row says there is more in the reading direction; the other way
                # there is more when a cursor was given (as `build_page` says)
                ahead = (k.part is Part.HAS_NEXT) != page.backward
                given = page.before if page.backward else page.after
                count = func.coalesce(func.max(self.rows.c[COUNT]), 0)
                value = _json_bool(count > page.size if ahead else given, self.dialect)
            else:  # the first row read, or the last one kept
                first = (k.part is Part.START_CURSOR) != page.backward
                least = func.least if self.dialect == "postgresql" else func.min
                value = self._cursor_at(1 if first else least(self.rows.c[COUNT], page.size))
            pairs.append((k.key, value))
        return json_object(pairs, self.dialect)

    def _cursor_at(self, position: Any) -> Any:
        """The cursor of the kept row at `position` in the read order (null when none is)."""
        at = self.rows.c[POSITION] == position
        assert self.kept is not None
        return func.max(case((at & self.kept, self.rows.c[CURSOR_COLUMN]), else_=null()))


def count_json(keys: ConnectionKeys, total: Any, dialect: str) -> Any:
    """The JSON object of a connection selecting only `totalCount` (and `__typename`): no rows
    are read, as on the GraphQL path."""
    pairs = [(k.key, literal(k.name, String) if k.part is Part.TYPENAME else total) for k in keys]
    return json_object(pairs, dialect)


def _json_bool(value: Any, dialect: str) -> Any:
    """A JSON boolean of a condition or a Python bool."""
    if isinstance(value, bool):
        value = true() if value else false()
    if dialect == "sqlite":
        return case((value, func.json("true")), else_=func.json("false"))
    return value


def json_object(pairs: list[tuple[str, Any]], dialect: str) -> ColumnElement[Any]:
    """The JSON object of `(key, value)` pairs, in their order."""
    function = func.json_build_object if dialect == "postgresql" else func.json_object
    return type_coerce(function(*(x for k, v in pairs for x in (literal(k, String), v))), JSON)
