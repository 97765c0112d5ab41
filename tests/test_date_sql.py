"""The date dimension the database writes (`resolvers/date_sql.py`) equals Python's `date_parts`.

Instants are drawn over the whole window instants are stored in (2000-2100) and, more often,
within hours of a time zone's offset changes (DST days, a half-hour DST, negative DST, a zone
that moved its offset for good); every part of the dimension must be equal on both engines.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.date_sql import PARTS, TYPENAME, date_json, zone_changes
from resolvers.dates import date_parts
from resolvers.metrics.timebuckets import transitions
from warehouse.fits import EARLIEST_SECOND, LATEST_SECOND

ZONES = [
    "Europe/London", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin",
    "America/Santiago", "Asia/Kathmandu", "Africa/Casablanca", "Pacific/Apia", "UTC",
]  # fmt: skip


@st.composite
def instants(draw: st.DrawFn) -> tuple[str, int]:
    zone = draw(st.sampled_from(ZONES))
    changes = zone_changes(zone)[1]
    if changes and draw(st.integers(0, 2)):
        at, _ = draw(st.sampled_from(changes))
        return zone, at + draw(st.integers(-3 * 3600, 3 * 3600))
    return zone, draw(st.integers(EARLIEST_SECOND, LATEST_SECOND - 1))


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=instants())
async def test_date_parts_match_python(small_engine: AsyncEngine, case: tuple[str, int]) -> None:
    zone, t = case
    row = select(literal(t, BigInteger).label("t")).subquery()
    keys = tuple((part, part) for part in (*PARTS, TYPENAME))
    dialect = small_engine.dialect.name
    async with small_engine.connect() as conn:
        written = await conn.scalar(select(date_json(row.c.t, row, zone, keys, dialect)))
    found = json.loads(written) if isinstance(written, str) else written
    expected = dataclasses.asdict(date_parts(datetime.fromtimestamp(t, UTC), ZoneInfo(zone)))
    del expected["local_time"]
    assert found == {**expected, TYPENAME: "DateDimension"}, (zone, t)


def test_a_day_step_finds_every_change() -> None:
    """The changes found stepping a day at a time are those found every six hours."""
    for zone in ("Europe/London", "Australia/Lord_Howe", "Africa/Casablanca"):
        six_hours = transitions(ZoneInfo(zone), EARLIEST_SECOND, LATEST_SECOND)
        assert list(zone_changes(zone)[1]) == six_hours
