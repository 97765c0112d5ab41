"""Relay pagination as keyset (seek) conditions in SQL: cursors hold the sort values of a row.

A page never uses OFFSET, so the hundredth page costs what the first does. Each sort column that
may hold NULL sorts as two keys, `(col IS NULL, col)`: NULLs come last ascending and first
descending, and the seek condition stays exact across them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    false,
    or_,
    true,
)
from sqlalchemy.sql.elements import UnaryExpression

from resolvers.entities import Entity
from resolvers.errors import BadInput
from warehouse.types import EpochSeconds

OrderSpec = tuple[tuple[str, bool], ...]  # (column, descending)
CURSOR_ARGUMENTS = frozenset({"after", "before"})  # a `String` wherever it is declared
PAGE_ARGUMENTS = CURSOR_ARGUMENTS | {"first", "last"}  # the sizes: an `Int` wherever declared


@dataclass(frozen=True)
class PageArgs:
    """The validated Relay arguments of one connection field."""

    first: int | None
    after: str | None
    last: int | None
    before: str | None

    @property
    def backward(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        return self.last if self.last is not None else (self.first or 0)


def page_args(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    *,
    default: int,
    cap: int,
) -> PageArgs:
    """Validate the Relay arguments; every mistake is a `BadInput` naming the argument."""
    if first is not None and last is not None:
        raise BadInput("Pass either `first` or `last`, not both.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise BadInput(f"`{name}` must not be negative (got {value}).")
        if value is not None and value > cap:
            raise BadInput(f"`{name}` is {value}, above the maximum page size of {cap}.")
    if first is None and last is None:
        if before is not None and after is None:
            last = default
        else:
            first = default
    return PageArgs(first, after, last, before)


@dataclass(frozen=True)
class SortKey:
    """One expanded sort key: an SQL expression and its direction."""

    expression: ColumnElement[Any]
    descending: bool


def full_order(ent: Entity, order: OrderSpec) -> OrderSpec:
    """The requested order with the entity's key appended, so every row has a unique position."""
    if any(column == ent.key for column, _ in order):
        return order
    return (*order, (ent.key, False))


def sort_keys(ent: Entity, order: OrderSpec, columns: Any = None) -> list[SortKey]:
    """Expand an order spec into sort keys (nullable columns get a NULL flag first).

    `columns` is where the columns are read from (the table by default, a subquery otherwise).
    """
    source = ent.table.c if columns is None else columns
    keys: list[SortKey] = []
    for name, descending in full_order(ent, order):
        column = source[name]
        if ent.table.c[name].nullable and name != ent.key:
            keys.append(SortKey(case((column.is_(None), 1), else_=0), descending))
        keys.append(SortKey(column, descending))
    return keys


def order_clauses(keys: Sequence[SortKey], reverse: bool = False) -> list[UnaryExpression[Any]]:
    return [k.expression.desc() if k.descending != reverse else k.expression.asc() for k in keys]


def signature(ent: Entity, order: OrderSpec) -> str:
    """The order a cursor belongs to, as its `o` (`resolvers/sql_cursors.py` writes it too)."""
    return ",".join(f"{c}{'-' if d else '+'}" for c, d in full_order(ent, order))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": int(value.timestamp())}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
MAX_CURSOR_TEXT = 4_096


def _whole(value: Any, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise ValueError("integer out of range")
    return value


def _decode_value(value: Any, column: Any) -> Any:
    """A cursor value, checked against the column it seeks on: a value of another type or out of
    the column's range cannot come from a page and would fail in the database, not here."""
    if value is None:
        if not column.nullable:
            raise ValueError("null on a column that holds none")
        return None
    kind = column.type
    if isinstance(value, dict):
        if set(value) == {"t"} and isinstance(kind, EpochSeconds):
            return _whole(value["t"], INT64)
        if set(value) == {"d"} and isinstance(kind, Date) and isinstance(value["d"], str):
            return date.fromisoformat(value["d"])
        raise ValueError("unknown cursor value")
    if isinstance(kind, EpochSeconds):
        raise ValueError('an instant is written {"t": seconds}')
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise ValueError("not a boolean")
        return value
    if isinstance(kind, Integer):  # BigInteger is an Integer too
        return _whole(value, INT64 if isinstance(kind, BigInteger) else INT32)
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("not a number")
        if not math.isfinite(value) or abs(value) > 1e300:
            raise ValueError("number out of range")
        return value
    if isinstance(kind, String):
        if not isinstance(value, str) or len(value) > MAX_CURSOR_TEXT:
            raise ValueError("not a text")
        return value
    raise ValueError("unknown cursor value")


def encode_cursor(ent: Entity, order: OrderSpec, row: Any) -> str:
    """The cursor of `row` under `order`: its sort values, tagged with the order they belong to."""
    values = [_encode_value(row[name]) for name, _ in full_order(ent, order)]
    # non-ASCII text as it is (UTF-8 inside the base64), as the database writes it
    payload = json.dumps(
        {"o": signature(ent, order), "v": values}, separators=(",", ":"), ensure_ascii=False
    )
    return base64.urlsafe_b64encode(payload.encode()).decode("ascii")


def _payload(cursor: str) -> tuple[Any, Any] | None:
    """The order and the sort values `cursor` says it holds, unchecked (None: no JSON object
    with both in base64)."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        return payload["o"], payload["v"]
    except (binascii.Error, UnicodeError, ValueError, KeyError, TypeError, RecursionError):
        return None


def decode_cursor(ent: Entity, order: OrderSpec, cursor: str, argument: str) -> list[Any]:
    """The sort values held by `cursor`; a cursor from elsewhere (or edited) is a `BadInput`."""
    shown = cursor if len(cursor) <= 80 else f"{cursor[:80]}…"
    malformed = BadInput(f"Malformed cursor in `{argument}`: {shown!r}.", code="INVALID_CURSOR")
    payload = _payload(cursor)
    if payload is None:
        raise malformed
    written, raw = payload
    columns = full_order(ent, order)
    if written != signature(ent, order) or not isinstance(raw, list) or len(raw) != len(columns):
        raise BadInput(
            f"The cursor in `{argument}` belongs to another ordering; "
            "pass the same `orderBy` as the page it came from.",
            code="INVALID_CURSOR",
        )
    try:
        return [_decode_value(v, ent.table.c[c]) for (c, _), v in zip(columns, raw, strict=True)]
    except (ValueError, TypeError, OverflowError):
        raise malformed from None


def seek_condition(
    ent: Entity,
    order: OrderSpec,
    values: list[Any],
    *,
    after: bool,
    columns: Any = None,
    leading_null: bool | None = None,
) -> ColumnElement[bool]:
    """Rows strictly after (or before) the row whose sort values are `values` (or bind
    parameters standing for them; None for a null).

    When the order's first key is a column with a value, the rows after also hold that column
    on the cursor's side of it (`>=` or `<=`): a redundant bound, but one an index range serves,
    so a page deep in the rows starts there instead of reading every row before it. A first key
    that may be null sorts behind its NULL flag, which no index serves: `leading_null` says
    which of its two groups the rows are read from (`resolvers/pages.py` reads each group
    apart), so the flag is compared here and the column's bound applies.
    """
    source = ent.table.c if columns is None else columns
    terms: list[tuple[ColumnElement[Any], bool, Any]] = []
    flagged = False  # the first term is the first key's NULL flag
    for index, ((name, descending), value) in enumerate(
        zip(full_order(ent, order), values, strict=True)
    ):
        column = source[name]
        if ent.table.c[name].nullable and name != ent.key:
            flag = int(value is None)
            if index == 0 and leading_null is not None:
                mine = int(leading_null)  # every row read has this flag
                if mine != flag:  # the whole group is on one side of the cursor
                    return true() if (mine > flag) == (after != descending) else false()
            else:
                terms.append((case((column.is_(None), 1), else_=0), descending, flag))
                flagged = flagged or index == 0
        terms.append((column, descending, value))
    condition: ColumnElement[bool] = false()
    # Build (t1 > v1) OR (t1 = v1 AND ((t2 > v2) OR (t2 = v2 AND ...))) from the last key up.
    for expression, descending, value in reversed(terms):
        if value is None:
            # inside the NULL group every row is equal on this key: defer to the next keys
            continue
        greater = after != descending  # seeking forward on an ascending key wants larger values
        strict = expression > value if greater else expression < value
        condition = or_(strict, and_(expression == value, condition))
    if not terms:
        return true()
    first, descending, value = terms[0]
    if value is not None and not flagged:
        bound = first >= value if after != descending else first <= value
        condition = and_(bound, condition)
    return condition


SEEK_PREFIX = "seek_"
SeekShape = tuple[tuple[bool, ...] | None, tuple[bool, ...] | None]
"""Which cursors a page has (`after`, `before`) and which of their sort values are null."""
NO_SEEK: SeekShape = (None, None)
Seeks = tuple[tuple[tuple[Any, ...], bool], ...]
"""A page's cursors as each one's sort values (or bind parameters standing for them) and whether
it seeks the rows after it (`after`) or before it (`before`)."""


@dataclass(frozen=True)
class Seek:
    """A page's cursors decoded: the sort values to seek after and before (None: no cursor)."""

    after: list[Any] | None = None
    before: list[Any] | None = None

    @property
    def shape(self) -> SeekShape:
        """Which cursors are given and which of their values are null: all a statement with
        the values bound depends on (`bound_seeks`)."""
        return _nulls(self.after), _nulls(self.before)

    @property
    def seeks(self) -> Seeks:
        """The cursors with their values, written into the SQL."""
        return tuple(
            (tuple(values), side == "after")
            for side, values in (("after", self.after), ("before", self.before))
            if values is not None
        )

    def values(self, prefix: str = SEEK_PREFIX) -> dict[str, Any]:
        """The bind values of `bound_seeks` (of this `prefix`) for these cursors."""
        return {
            f"{prefix}{side}_{index}": value
            for side, values in (("after", self.after), ("before", self.before))
            for index, value in enumerate(values or ())
            if value is not None
        }


def _nulls(values: list[Any] | None) -> tuple[bool, ...] | None:
    return None if values is None else tuple(value is None for value in values)


def cursor_nulls(cursor: str) -> tuple[bool, ...] | None:
    """Which sort values of `cursor` are null, read without knowing its connection (None when it
    is no cursor `encode_cursor` could have written): `decode_cursor` maps null to null and
    every other value to a value, so its result has the same pattern."""
    payload = _payload(cursor)
    raw = None if payload is None else payload[1]
    return tuple(value is None for value in raw) if isinstance(raw, list) else None


def decode_seek(ent: Entity, order: OrderSpec, args: PageArgs) -> Seek:
    """The page's `after`/`before` cursors decoded (a bad one is a `BadInput`)."""
    after = None if args.after is None else decode_cursor(ent, order, args.after, "after")
    before = None if args.before is None else decode_cursor(ent, order, args.before, "before")
    return Seek(after, before)


def bound_seeks(
    ent: Entity, order: OrderSpec, shape: SeekShape, prefix: str = SEEK_PREFIX
) -> Seeks:
    """Cursors of this `shape`, each non-null value a bind parameter named after `prefix`
    (`Seek.values` binds them): one statement serves every page of a walk through the rows."""
    columns = full_order(ent, order)
    return tuple(
        (
            tuple(
                None if null else bindparam(f"{prefix}{side}_{i}", type_=ent.table.c[name].type)
                for i, ((name, _), null) in enumerate(zip(columns, nulls, strict=True))
            ),
            side == "after",
        )
        for side, nulls in zip(("after", "before"), shape, strict=True)
        if nulls is not None
    )


def seek_conditions_of(
    ent: Entity,
    order: OrderSpec,
    seeks: Seeks,
    columns: Any = None,
    leading_null: bool | None = None,
) -> list[Any]:
    """The seek conditions of these cursors (`leading_null`: see `seek_condition`)."""
    return [
        seek_condition(
            ent, order, list(values), after=after, columns=columns, leading_null=leading_null
        )
        for values, after in seeks
    ]


def seek_conditions(
    ent: Entity, order: OrderSpec, args: PageArgs, columns: Any = None
) -> list[Any]:
    """The seek conditions of the page's `after`/`before` cursors, their values in the SQL (a
    bad cursor is a `BadInput`)."""
    return seek_conditions_of(ent, order, decode_seek(ent, order, args).seeks, columns)
