"""Time buckets in SQL against Python's zoneinfo, over years, DST changes and odd zones."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import BigInteger, Column, MetaData, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.metrics.dimensions import TIME_DIMENSIONS, Dimension, TimeRange, present, time_bucket
from resolvers.metrics.timebuckets import transitions

LO = int(datetime(2024, 12, 20, tzinfo=UTC).timestamp())
HI = int(datetime(2026, 4, 10, tzinfo=UTC).timestamp())
# Santiago changes its clocks at midnight, Kathmandu is +05:45, Lord Howe shifts by 30 minutes
ZONES = ["UTC", "Europe/London", "America/Santiago", "Asia/Kathmandu", "Australia/Lord_Howe"]
BUCKETS = sorted(TIME_DIMENSIONS, key=lambda d: d.name)

metadata = MetaData()
instants_table = Table("test_bucket_instants", metadata, Column("at", BigInteger))


def python_bucket(dimension: Dimension, instant: int, tz: ZoneInfo) -> object:
    local = datetime.fromtimestamp(instant, UTC).astimezone(tz)
    return {
        Dimension.DATE: local.date(),
        Dimension.YEAR: local.year,
        Dimension.QUARTER: (local.month - 1) // 3 + 1,
        Dimension.MONTH: local.month,
        Dimension.WEEK: local.isocalendar().week,
        Dimension.DAY_OF_WEEK: local.isoweekday(),
        Dimension.HOUR: local.hour,
        Dimension.INTERVAL_30_MINUTES: f"{local.hour:02d}:{local.minute // 30 * 30:02d}",
        Dimension.INTERVAL_15_MINUTES: f"{local.hour:02d}:{local.minute // 15 * 15:02d}",
    }[dimension]


def _instants(tz: ZoneInfo) -> list[int]:
    """Random instants plus both sides of every local midnight and every offset change."""
    rng = random.Random(3)
    found = {LO, HI - 1, *(rng.randrange(LO, HI) for _ in range(500))}
    day = datetime.fromtimestamp(LO, UTC).astimezone(tz).date()
    while (midnight := int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())) < HI:
        found.update(t for t in (midnight - 1, midnight, midnight + 1) if LO <= t < HI)
        day += timedelta(days=1)
    for at, _ in transitions(tz, LO, HI):
        found.update((at - 1, at, at + 1))
    return sorted(found)


@pytest.fixture(scope="module")
async def table(small_engine: AsyncEngine) -> AsyncIterator[Table]:
    async with small_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield instants_table
    async with small_engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)


@pytest.mark.parametrize("zone", ZONES)
async def test_sql_buckets_equal_zoneinfo(
    small_engine: AsyncEngine, table: Table, zone: str
) -> None:
    tz = ZoneInfo(zone)
    instants = _instants(tz)
    async with small_engine.begin() as conn:
        await conn.execute(delete(table))
        await conn.execute(insert(table), [{"at": v} for v in instants])
    column = instants_table.c.at
    exprs = [time_bucket(d, column, tz, TimeRange(LO, HI)) for d in BUCKETS]
    async with small_engine.connect() as conn:
        result = [tuple(r) for r in await conn.execute(select(column, *exprs))]
    assert len(result) == len(instants)
    wrong = [
        (instant, dimension.name, present(dimension, value))
        for instant, *values in result
        for dimension, value in zip(BUCKETS, values, strict=True)
        if present(dimension, value) != python_bucket(dimension, int(instant), tz)
    ]
    assert wrong == []
