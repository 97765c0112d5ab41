"""Cursors written by the database: the text `pagination.encode_cursor` writes, in SQL.

A page answered as JSON (`resolvers/json_rows.py`) carries its edges' cursors and its page info
in the same statement, so no row comes back to Python to be encoded. The text must be the same
as Python's, byte for byte: a cursor from either path pages the other, and the two paths answer
alike. Python writes `base64url({"o":"<order>","v":[<sort values>]})` with its JSON encoder
(no spaces, non-ASCII as it is); each value is written here as that encoder writes it:

- text as JSON strings (`to_json` on PostgreSQL, `json_quote` on SQLite escape what Python does);
- integers as digits, instants as `{"t":<seconds>}`, dates as `{"d":"YYYY-MM-DD"}`;
- floats as Python's `repr`: the shortest digits that read back as the same number, with `.0`
  when there is no fraction. PostgreSQL's float output is the shortest already; SQLite's printf
  rounds the 16th and 17th digits its own way, so SQLite connections call Python's `repr`
  (`warehouse/engine.py`). (From 10^15 on PostgreSQL writes an exponent where Python writes
  digits: the value decodes the same, the text differs; the data served holds no such values.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Float, Integer, String, Text, case, cast, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from resolvers.entities import Entity
from resolvers.pagination import OrderSpec, full_order, signature
from warehouse.engine import BASE64, FLOAT_TEXT
from warehouse.types import EpochSeconds


def cursor_text(ent: Entity, order: OrderSpec, columns: Any, dialect: str) -> ColumnElement[Any]:
    """Each row's cursor under `order`, its sort values read from `columns` (a FROM clause's)."""
    parts: list[Any] = [literal(f'{{"o":"{signature(ent, order)}","v":[', String)]
    for index, (name, _) in enumerate(full_order(ent, order)):
        if index:
            parts.append(literal(",", String))
        parts.append(_value(columns[name], ent.table.c[name].type, dialect))
    parts.append(literal("]}", String))
    return _base64url(_joined(*parts), dialect)


def _joined(*parts: Any) -> Any:
    """The texts one after the other (`||`: `+` would add a date to a text)."""
    text = parts[0]
    for part in parts[1:]:
        text = text.op("||")(part)
    return text


def _value(column: Any, kind: Any, dialect: str) -> Any:
    """The JSON text of one sort value (`null` for none)."""
    if isinstance(kind, EpochSeconds):
        text: Any = _joined(literal('{"t":', String), cast(column, Text), literal("}", String))
    elif isinstance(kind, Date):
        day = func.to_char(column, "YYYY-MM-DD") if dialect == "postgresql" else column
        text = _joined(literal('{"d":"', String), day, literal('"}', String))
    elif isinstance(kind, Float):
        text = _float(column, dialect)
    elif isinstance(kind, Integer):  # BigInteger too
        text = cast(column, Text)
    elif isinstance(kind, String):
        quoted = func.to_json(column) if dialect == "postgresql" else func.json_quote(column)
        text = cast(quoted, Text)
    else:  # no other type sorts (`resolvers/pagination.py` decodes these only)
        raise TypeError(f"no cursor text for {kind!r}")
    return case((column.is_(None), literal("null", String)), else_=text)


def _float(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return getattr(func, FLOAT_TEXT)(column)
    digits = cast(column, Text)  # the shortest digits that read back as the value
    whole = ~or_(*(digits.contains(mark) for mark in (".", "e", "N", "I")))  # NaN, Infinity
    return case((whole, _joined(digits, literal(".0", String))), else_=digits)


def _base64url(text: Any, dialect: str) -> Any:
    if dialect == "postgresql":  # `encode` breaks lines every 76 characters
        plain = func.replace(func.encode(func.convert_to(text, "UTF8"), "base64"), "\n", "")
        return func.translate(plain, "+/", "-_")
    return func.replace(func.replace(getattr(func, BASE64)(text), "+", "-"), "/", "_")
