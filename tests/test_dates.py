"""Date dimensions are computed in the workspace time zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from resolvers.context import Options
from resolvers.dates import date_parts
from tests.conftest import Gateway
from tests.helpers import table_rows

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        # 00:59 UTC on 29 March 2026 is still GMT in London; 01:00 UTC is 02:00 BST
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), LONDON, ("2026-03-29", 0, "00:45", "00:30")),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), LONDON, ("2026-03-29", 2, "02:00", "02:00")),
        # autumn: 01:30 local happens twice in New York on 1 November 2026
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NEW_YORK, ("2026-11-01", 1, "01:30", "01:30")),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NEW_YORK, ("2026-11-01", 1, "01:30", "01:30")),
        # a UTC evening is the next day in Asia
        (
            datetime(2026, 12, 31, 20, 29, tzinfo=UTC),
            ZoneInfo("Asia/Kathmandu"),
            ("2027-01-01", 2, "02:00", "02:00"),
        ),
        (
            datetime(2026, 6, 1, 13, 29, tzinfo=UTC),
            ZoneInfo("UTC"),
            ("2026-06-01", 13, "13:15", "13:00"),
        ),
    ],
)
def test_date_parts_in_zone(
    instant: datetime, tz: ZoneInfo, expected: tuple[str, int, str, str]
) -> None:
    parts = date_parts(instant, tz)
    assert (
        parts.date,
        parts.hour,
        parts.interval_15_minutes,
        parts.interval_30_minutes,
    ) == expected


def test_calendar_attributes() -> None:
    parts = date_parts(datetime(2027, 1, 1, 10, 0, tzinfo=UTC), ZoneInfo("UTC"))
    assert (parts.year, parts.quarter, parts.month, parts.month_name) == (2027, 1, 1, "January")
    # 1 January 2027 is a Friday in ISO week 53 of 2026
    assert (parts.week, parts.week_year, parts.day_of_week, parts.day_of_week_name) == (
        53,
        2026,
        5,
        "Friday",
    )
    assert (parts.day_of_month, parts.time) == (1, "10:00")


async def test_graphql_date_uses_the_configured_zone(gw: Gateway) -> None:
    london = Gateway(gw.engine, Options(timezone=LONDON))
    query = """{ segments(first: 100, filter: {startedAt: {gte: "2026-03-28T18:00:00Z", lt: "2026-03-29T12:00:00Z"}})
      { nodes { segmentId startedAt date { date hour interval15Minutes dayOfWeek } } } }"""
    data = await london.query(query)
    nodes = data["segments"]["nodes"]
    rows = {r["segment_id"]: r for r in await table_rows(gw.engine, "Segment")}
    assert nodes, "the demo has traffic around the DST change"
    for node in nodes:
        local = rows[node["segmentId"]]["started_at"].astimezone(LONDON)
        assert node["date"] == {
            "date": local.date().isoformat(),
            "hour": local.hour,
            "interval15Minutes": f"{local.hour:02d}:{local.minute // 15 * 15:02d}",
            "dayOfWeek": local.isoweekday(),
        }
    offsets = {rows[n["segmentId"]]["started_at"].astimezone(LONDON).utcoffset() for n in nodes}
    assert len(offsets) == 2, "rows on both sides of the change"
