"""Demo traffic: simulated calls on the demo's staff, through the ingest, make the live picture move."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from resolvers.context import Options
from tests.conftest import Gateway
from tests.databases import fresh_database
from warehouse.demo import build_demo
from warehouse.demo_catalog import HOURLY_TRAFFIC, WEEKEND_TRAFFIC
from warehouse.demo_traffic import QUIET_FLOOR, DemoTraffic
from warehouse.engine import create_engine

PICTURE = """{ realtime { queues { queue waitingTasks activeTasks wrappingTasks handledToday
  abandonedToday agentsAvailable agentsUnavailable } agents { activity activeTasks } } }"""


async def test_demo_traffic_feeds_the_live_picture(tmp_path: Path) -> None:
    start = datetime(2026, 3, 20, 9, tzinfo=UTC).timestamp()
    clock = [start]
    engine = create_engine(await fresh_database(tmp_path, "traffic"))
    try:
        await build_demo(engine, segments=300, seed=3, days=1, end=datetime(2026, 3, 19).date(),
                         tz=ZoneInfo("UTC"))  # fmt: skip
        traffic = DemoTraffic(engine, ZoneInfo("UTC"), seed=5, clock=lambda: clock[0])
        await traffic.start()
        gw = Gateway(engine, Options(clock=lambda: clock[0]))
        seen_waiting = seen_active = seen_wrapping = 0
        for _ in range(900):  # fifteen minutes, a second at a time
            clock[0] += 1.0
            events = traffic.step(1.0)
            if events:
                await traffic.apply(events)
            if int(clock[0]) % 60 == 0:
                queues = (await gw.query(PICTURE))["realtime"]["queues"]
                seen_waiting += sum(q["waitingTasks"] for q in queues)
                seen_active += sum(q["activeTasks"] for q in queues)
                seen_wrapping += sum(q["wrappingTasks"] for q in queues)
        picture = (await gw.query(PICTURE))["realtime"]
        assert seen_waiting > 0 and seen_active > 0 and seen_wrapping > 0
        assert sum(q["handledToday"] for q in picture["queues"]) > 0
        activities = {a["activity"] for a in picture["agents"] if a["activity"]}
        assert "Available" in activities
    finally:
        await engine.dispose()


def test_calls_arrive_along_the_demo_day() -> None:
    """The live rate follows the demo's hourly curve and its weekends, in the workspace zone."""
    zone = ZoneInfo("Europe/Berlin")
    traffic = DemoTraffic(None, zone, calls_per_minute=60.0)  # type: ignore[arg-type]
    busiest = max(range(24), key=lambda hour: HOURLY_TRAFFIC[hour])

    def rate(day: int, hour: int) -> float:  # March 2026: the 19th a Thursday, the 21st a Saturday
        return traffic.arrival_rate(datetime(2026, 3, day, hour, 30, tzinfo=zone).timestamp())

    assert rate(19, busiest) == 1.0  # the busiest local hour runs at calls_per_minute
    for hour in range(24):
        expected = max(QUIET_FLOOR, HOURLY_TRAFFIC[hour] / HOURLY_TRAFFIC[busiest])
        assert abs(rate(19, hour) - expected) < 1e-9, hour
        weekend = max(QUIET_FLOOR, HOURLY_TRAFFIC[hour] / HOURLY_TRAFFIC[busiest] * WEEKEND_TRAFFIC)
        assert abs(rate(21, hour) - weekend) < 1e-9, hour
    assert rate(19, 3) == QUIET_FLOOR < rate(19, 10)  # the night is quiet, but never still
