"""Continuous percentiles (`percentile_cont`, linear interpolation) on both engines, in SQL.

PostgreSQL has the ordered-set aggregate. SQLite (3.40 here) has none, no ORDER BY inside an
aggregate, and refuses a group's aggregate nested in a subquery that does not aggregate itself;
so its grouped statement collects each group's values with `json_group_array`, and the
statement around it sorts them through `json_each` and interpolates between the two nearest
values: exact, and still one statement per data set.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement


class PercentileCont(ColumnElement[float]):
    """The `fraction` (0..1) percentile of the group's non-null `value`s, interpolated."""

    inherit_cache = False
    type = Float()

    def __init__(self, value: ColumnElement[Any], fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"percentile fraction {fraction!r} is outside 0..1")
        self.value = value
        self.fraction = float(fraction)

    def get_children(self, **kw: Any) -> list[ColumnElement[Any]]:
        return [self.value]


@compiles(PercentileCont)
def _ordered_set_aggregate(element: PercentileCont, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.value, **kw)
    return f"percentile_cont({element.fraction!r}) WITHIN GROUP (ORDER BY {value})"


@compiles(PercentileCont, "sqlite")
def _not_in_one_step(element: PercentileCont, compiler: SQLCompiler, **kw: Any) -> str:
    raise NotImplementedError("on SQLite a percentile takes two steps: use grouped_part/finished")


def needs_two_steps(expression: ColumnElement[Any], dialect: str) -> bool:
    return isinstance(expression, PercentileCont) and dialect == "sqlite"


def grouped_part(expression: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """What the grouped statement computes for `expression` (itself, or the values to sort)."""
    if not needs_two_steps(expression, dialect):
        return expression
    assert isinstance(expression, PercentileCont)
    value = expression.value
    return func.json_group_array(value).filter(value.is_not(None))


def finished(
    expression: ColumnElement[Any], column: ColumnElement[Any], dialect: str
) -> ColumnElement[Any]:
    """The metric's value from its grouped column (which holds the sorted-to-be values)."""
    if not needs_two_steps(expression, dialect):
        return column
    assert isinstance(expression, PercentileCont)
    each = func.json_each(column).table_valued("value")
    position = (func.row_number().over(order_by=each.c.value) - 1).label("i")
    ranked = select(each.c.value.label("v"), position).subquery()
    rank = literal(expression.fraction, Float) * (func.json_array_length(column) - 1)
    low = cast(rank, Integer)  # floor: the rank is >= 0 whenever there is a value
    # the values at positions low and low + 1 (one row when low is the last)
    nearest = ranked.c.i.in_([low, low + 1])
    v = ranked.c.v
    interpolated = func.min(v) + (func.max(v) - func.min(v)) * (rank - low)
    return select(interpolated).where(nearest).scalar_subquery()
