"""The database writes the cursor Python writes (`resolvers/sql_cursors.py`), byte for byte.

Generated sort values of every type a cursor holds (text with quotes, escapes, control characters
and non-ASCII letters; floats whose shortest form takes 15, 16 or 17 digits, whole floats, tiny
ones; dates; instants; integers; nulls) are written by the database and by `encode_cursor`; the
texts must be equal, and decode to the values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, cast, literal, null, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.entities import ENTITIES
from resolvers.pagination import decode_cursor, encode_cursor
from resolvers.sql_cursors import cursor_text
from warehouse.types import EpochSeconds

CUSTOMER = ENTITIES["Customer"]
SEGMENT = ENTITIES["Segment"]

texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
floats = st.one_of(
    st.floats(min_value=-1e15, max_value=1e15, exclude_min=True, exclude_max=True),
    st.sampled_from([0.1 + 0.2, 1 / 3, 3.0, 1e-7, 1.5e-7, 123456.789, 2.5, 100.0]),
)
customers = st.fixed_dictionaries(
    {
        "name": st.none() | texts,
        "acquisition_cost": st.none() | floats,
        "acquisition_date": st.none() | st.dates(date(1, 1, 1), date(9999, 12, 31)),
        "year_of_birth": st.none() | st.integers(-(2**31), 2**31 - 1),
        "customer_id": texts,
    }
)
segments = st.fixed_dictionaries(
    {
        "started_at": st.integers(0, 253_402_300_799),  # up to 9999-12-31
        "talk_time": st.none() | st.integers(-(2**31), 2**31 - 1),
        "segment_id": texts,
    }
)


async def written(engine: AsyncEngine, ent: Any, order: Any, stored: dict[str, Any]) -> str:
    """The cursor the database writes for a row holding the `stored` values."""
    columns = {}
    for name, value in stored.items():
        kind = ent.table.c[name].type
        kind = BigInteger() if isinstance(kind, EpochSeconds) else kind
        columns[name] = cast(null(), kind) if value is None else literal(value, kind)
    async with engine.connect() as conn:
        return str(await conn.scalar(select(cursor_text(ent, order, columns, engine.dialect.name))))


def read(stored: dict[str, Any], instants: tuple[str, ...] = ()) -> dict[str, Any]:
    """The row as Python reads it (instants as datetimes)."""
    return {
        k: datetime.fromtimestamp(v, UTC) if k in instants and v is not None else v
        for k, v in stored.items()
    }


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(row=customers, descending=st.booleans())
async def test_customer_cursors_match(
    small_engine: AsyncEngine, row: dict[str, Any], descending: bool
) -> None:
    names = ("name", "acquisition_cost", "acquisition_date")
    order = (*((name, descending) for name in names), ("year_of_birth", not descending))
    expected = encode_cursor(CUSTOMER, order, row)
    assert await written(small_engine, CUSTOMER, order, row) == expected, row
    values = decode_cursor(CUSTOMER, order, expected, "after")
    assert values == [row[name] for name, _ in (*order, ("customer_id", False))]


@SETTINGS
@given(row=segments)
async def test_segment_cursors_match(small_engine: AsyncEngine, row: dict[str, Any]) -> None:
    order = (("started_at", True), ("talk_time", False))
    expected = encode_cursor(SEGMENT, order, read(row, ("started_at",)))
    assert await written(small_engine, SEGMENT, order, row) == expected, row
