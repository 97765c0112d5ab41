"""Compile a typed filter input (`and`/`or`/`not`, per-attribute operators) into a SQL condition.

Filter inputs are plain dataclasses (Strawberry inputs): attribute fields are named after their
column, to-one link fields after the link and hold the target entity's filter, compiled as an
`IN (SELECT key ...)` subquery so they stay one statement.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from resolvers.bound_lists import InBound, bound_list
from resolvers.entities import Entity, entity
from resolvers.scope import check_columns, visible
from resolvers.viewer import Viewer


def _present(value: Any) -> bool:
    return value is not None and not _is_unset(value)


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "UnsetType"


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def set_fields(obj: Any) -> Iterable[tuple[str, Any]]:
    """The (name, value) pairs of a filter input that the client actually set."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if _present(value):
            yield f.name, value


def compile_operators(column: ColumnElement[Any], ops: Any) -> ColumnElement[bool]:
    """Compile one attribute's operator input (`eq`, `in`, `contains`, `gt`, ...)."""
    conditions: list[ColumnElement[bool]] = []
    for op, raw in set_fields(ops):
        value = [_plain(v) for v in raw] if isinstance(raw, list) else _plain(raw)
        if op == "eq":
            conditions.append(column == value)
        elif op == "ne":
            # "not equal" keeps rows where the attribute is empty, as analysts expect
            conditions.append(column.is_distinct_from(value))
        elif op in ("in_", "not_in") and (bound := bound_list(value)) is not None:
            among = column == bound.bind if bound.single else InBound(column, bound.bind)
            conditions.append(among if op == "in_" else or_(column.is_(None), not_(among)))
        elif op == "in_":
            conditions.append(column.in_(value) if value else false())
        elif op == "not_in":
            conditions.append(or_(column.is_(None), column.not_in(value)) if value else true())
        elif op == "is_null":
            conditions.append(column.is_(None) if value else column.is_not(None))
        elif op in ("contains", "starts_with"):
            conditions.append(_like(column, value, anywhere=op == "contains"))
        elif op == "gt":
            conditions.append(column > value)
        elif op == "gte":
            conditions.append(column >= value)
        elif op == "lt":
            conditions.append(column < value)
        elif op == "lte":
            conditions.append(column <= value)
        else:  # pragma: no cover - the schema only declares the operators above
            raise ValueError(f"unknown filter operator {op}")
    return and_(true(), *conditions)


LIKE_ESCAPE = "/"


def _like(column: ColumnElement[Any], value: Any, *, anywhere: bool) -> ColumnElement[bool]:
    """`column` holds the text `value` (anywhere, or at its start), case aside.

    The text's LIKE wildcards are escaped and both sides lowered in SQL, not in Python, so the
    text may be a bound variable's parameter (`schema/variable_binds.py`: a search box sends a
    new text with every key) and a literal compiles to the same SQL, its value bound."""
    text = value if isinstance(value, BindParameter) else bindparam(None, str(value), String)
    escaped = func.lower(text)
    for special in (LIKE_ESCAPE, "%", "_"):  # the escape character first
        escaped = func.replace(escaped, special, LIKE_ESCAPE + special)
    pattern = escaped.concat("%")
    if anywhere:
        pattern = literal("%", String).concat(pattern)
    return func.lower(column).like(pattern, escape=LIKE_ESCAPE)


def compile_filter(viewer: Viewer, ent: Entity, flt: Any) -> ColumnElement[bool]:
    """The SQL condition for a client's filter input on `ent` (`true()` when nothing is set).

    The one compilation of every filter a client can pass (root and nested connections, entity
    `metrics`, `report` and its drill-downs, anything added later): filtering on a column hidden
    from `viewer` is refused (it would reveal its values), and a filter on a linked entity only
    matches linked rows `viewer` may see. The viewer is required: there is no unscoped default.
    The rows of `ent` itself are scoped by the caller, with `visible(viewer, ent)`.
    """
    if flt is None:
        return true()
    conditions: list[ColumnElement[bool]] = []
    for name, value in set_fields(flt):
        if name == "and_":
            conditions.extend(compile_filter(viewer, ent, sub) for sub in value)
        elif name == "or_":
            conditions.append(or_(false(), *(compile_filter(viewer, ent, sub) for sub in value)))
        elif name == "not_":
            # `not: [A, B]` keeps the rows that match none of A, B
            matches = (compile_filter(viewer, ent, sub) for sub in value)
            conditions.append(not_(or_(false(), *matches)))
        elif name in ent.to_one:
            link = ent.to_one[name]
            target = entity(link.target)
            subquery = select(target.key_column).where(
                visible(viewer, target), compile_filter(viewer, target, value)
            )
            conditions.append(ent.table.c[link.column].in_(subquery))
        else:
            conditions.append(compile_attribute(viewer, ent, name, value))
    return and_(true(), *conditions)


def compile_attribute(
    viewer: Viewer,
    ent: Entity,
    name: str,
    ops: Any,
    column: ColumnElement[Any] | None = None,
) -> ColumnElement[bool]:
    """One attribute's operator input, for filters that are not an entity's filter input (the
    live picture's): refused like `compile_filter` when the column is hidden from `viewer`.

    `column` reads the attribute from a derived relation of `ent`'s rows (a subquery holding the
    same values) instead of `ent`'s table; the rows themselves are scoped by the caller.
    """
    check_columns(viewer, ent, {name}, "filter")
    return compile_operators(ent.table.c[name] if column is None else column, ops)
