"""`timeZone:` on `report`, `metrics` and `date`: buckets in the zone a query names.

The workspace runs in UTC; each query names another zone, with half-hour and 45-minute offsets
and a DST change inside the demo's range (Europe/London on 2026-03-29), and the answers are
compared with the plain-Python oracle bucketing the same rows with `zoneinfo`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Gateway
from tests.metrics_oracle import Warehouse

ZONES = ["Asia/Kolkata", "Asia/Kathmandu", "Australia/Eucla", "Europe/London", "America/St_Johns"]
METRICS = "segments handledConversations serviceLevel averageSpeedOfAnswer medianTalkTime"


@pytest.fixture(scope="module")
async def warehouse(gw: Gateway) -> Warehouse:
    return await Warehouse.load(gw.engine)


@pytest.mark.parametrize("zone", ZONES)
async def test_report_buckets_in_the_zone_of_the_query(
    gw: Gateway, warehouse: Warehouse, zone: str
) -> None:
    query = (
        """query ($zone: String) {
      report(groupBy: [DATE, HOUR, INTERVAL_15_MINUTES], timeZone: $zone) {
        rows { key { date hour interval15Minutes } metrics { %s } } } }"""
        % METRICS
    )
    rows = (await gw.query(query, {"zone": zone}))["report"]["rows"]
    expected = warehouse.report(
        ["DATE", "HOUR", "INTERVAL_15_MINUTES"], ["segments"], tz=ZoneInfo(zone)
    )
    got = {(r["key"]["date"], r["key"]["hour"], r["key"]["interval15Minutes"]): r for r in rows}
    assert set(got) == set(expected)
    for key, values in expected.items():
        for name in METRICS.split():
            assert got[key]["metrics"][name] == pytest.approx(values[name]), (zone, key, name)


@pytest.mark.parametrize("zone", ZONES)
async def test_date_fields_in_the_zone_of_the_query(gw: Gateway, zone: str) -> None:
    query = """query ($zone: String) { segments(first: 100) { nodes { startedAt
        date(timeZone: $zone) { date hour dayOfWeek interval15Minutes time }
        workspace: date { date hour } } } }"""
    nodes = (await gw.query(query, {"zone": zone}))["segments"]["nodes"]
    assert nodes
    for node in nodes:
        local = datetime.fromisoformat(node["startedAt"]).astimezone(ZoneInfo(zone))
        date = node["date"]
        assert date["date"] == local.date().isoformat()
        assert date["hour"] == local.hour
        assert date["dayOfWeek"] == local.isoweekday()
        quarter = local.minute // 15 * 15
        assert date["interval15Minutes"].startswith(f"{local.hour:02d}:{quarter:02d}")
        utc = datetime.fromisoformat(node["startedAt"]).astimezone(ZoneInfo("UTC"))
        assert node["workspace"]["hour"] == utc.hour  # the workspace zone is untouched


async def test_metrics_read_a_wall_clock_range_in_the_zone_of_the_query(
    gw: Gateway, warehouse: Warehouse
) -> None:
    # the same wall-clock day is a different instant range in Kathmandu and in UTC
    query = """query ($zone: String) { queues(first: 100) { nodes { name
        metrics(from: "2026-03-20T00:00:00", to: "2026-03-21T00:00:00", timeZone: $zone) {
          segments } } } }"""
    for zone in ("Asia/Kathmandu", "UTC"):
        tz = ZoneInfo(zone)
        start, end = datetime(2026, 3, 20, tzinfo=tz), datetime(2026, 3, 21, tzinfo=tz)
        expected = warehouse.report(["QUEUE"], ["segments"], start=start, end=end)
        for node in (await gw.query(query, {"zone": zone}))["queues"]["nodes"]:
            want = expected.get((node["name"],), {}).get("segments", 0)
            assert node["metrics"]["segments"] == want, (zone, node["name"])


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "", "x" * 500])
async def test_an_unknown_zone_is_a_clear_error(gw: Gateway, zone: str) -> None:
    for query in (
        "query ($z: String) { report(groupBy: [HOUR], timeZone: $z) { totalRows } }",
        "query ($z: String) { segments(first: 1) { nodes { date(timeZone: $z) { hour } } } }",
        "query ($z: String) { queues(first: 1) { nodes { metrics(timeZone: $z) { segments } } } }",
    ):
        errors = await gw.errors(query, {"z": zone})
        assert any("is not a known IANA time zone" in e for e in errors), (query, errors)
