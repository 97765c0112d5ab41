"""The demo is alive: it ends at an instant ("now") with the work in progress a center has then.

A demo ending on a weekday morning is built with its TaskRouter events; nothing in it happens at
or after its end, customers wait, agents talk, wrap up and take breaks, each as the in-progress
segments the ingest makes of the same events (the round trip checks that), and the live queue
view counts them. A property test sweeps seeds, sizes, ends and time zones through the generator.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_NOW, NowDemo
from tests.helpers import rows
from tests.ingest_helpers import fresh_engine, ingest_lines, snapshot
from warehouse.demo import NEVER, Agent, DemoBuilder, Router, event_writer

T = int(DEMO_NOW.timestamp())


async def _segments(demo: NowDemo) -> list[dict[str, Any]]:
    return await rows(demo.engine, "SELECT * FROM segments")


async def test_nothing_happens_at_or_after_the_end(now_demo: NowDemo) -> None:
    segments = await _segments(now_demo)
    assert segments and max(int(r["started_at"]) for r in segments) < T
    for r in segments:
        if r["kind"] == "CONVERSATION":
            assert int(r["started_at"]) + r["talk_time"] + r["wrap_up_time"] < T, r["segment_id"]
        if r["kind"] == "AGENT_STATUS":
            assert int(r["started_at"]) + r["activity_time"] < T
        if r["kind"] == "QUEUE" and r["queue_time"] is not None:
            assert int(r["started_at"]) + r["queue_time"] < T
    (late,) = await rows(
        now_demo.engine,
        f"""SELECT (SELECT count(*) FROM assessments WHERE created_at >= {T}) AS assessed,
                   (SELECT count(*) FROM conversations WHERE ended_at > {T}) AS ended,
                   (SELECT count(*) FROM workload WHERE interval_start >= {T}) AS sliced""",
    )
    assert late == {"assessed": 0, "ended": 0, "sliced": 0}


async def test_today_is_covered_up_to_the_end(now_demo: NowDemo) -> None:
    segments = await _segments(now_demo)
    last_hour = [r for r in segments if T - 3600 <= int(r["started_at"]) < T]
    assert len({r["conversation_id"] for r in last_hour if r["conversation_id"]}) >= 20


async def test_customers_wait_agents_talk_wrap_up_and_take_breaks(now_demo: NowDemo) -> None:
    found: Counter[str] = Counter()
    for r in await _segments(now_demo):
        if r["kind"] == "QUEUE" and r["queue_time"] is None:
            found["waiting"] += 1
            assert r["abandoned"] == "NO" and r["abandon_time"] is None
        elif r["kind"] == "CONVERSATION_IN_PROGRESS":
            found["wrapping up" if r["talk_time"] is not None else "talking"] += 1
            assert r["wrap_up_time"] is None and r["agent_id"] and not r["virtual"]
            if r["talk_time"] is not None:
                assert int(r["started_at"]) + r["talk_time"] < T
        elif r["kind"] == "AGENT_STATUS_IN_PROGRESS":
            found[r["activity"]] += 1
            assert r["activity_time"] is None
    assert min(found["waiting"], found["talking"], found["wrapping up"], found["Break"]) >= 1, found


async def test_a_waiting_customer_has_nothing_after_the_queue(now_demo: NowDemo) -> None:
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in await _segments(now_demo):
        if r["external_id"]:
            by_task[r["external_id"]].append(r)
    waiting = [
        task
        for task in by_task.values()
        if any(r["kind"] == "QUEUE" and r["queue_time"] is None for r in task)
    ]
    assert waiting
    for task in waiting:
        assert {r["kind"] for r in task} <= {
            "QUEUE",
            "MISSED_CONVERSATION",
            "REJECTED_CONVERSATION",
        }


async def test_every_agent_has_one_current_activity(now_demo: NowDemo) -> None:
    current = Counter(
        r["agent_id"] for r in await _segments(now_demo) if r["kind"] == "AGENT_STATUS_IN_PROGRESS"
    )
    (agents,) = await rows(now_demo.engine, "SELECT count(*) AS n FROM agents")
    assert len(current) == agents["n"] and set(current.values()) == {1}


async def test_the_events_ingested_give_the_same_warehouse(
    now_demo: NowDemo, tmp_path: Path
) -> None:
    ingested = await fresh_engine(tmp_path / "ingested.db")
    try:
        counts = await ingest_lines(ingested, now_demo.lines)
        assert counts.rejected == 0 and counts.applied == len(now_demo.lines)
        roots = ["segments", "workload", "conversations", "agents"]
        assert await snapshot(ingested, roots) == await snapshot(now_demo.engine, roots)
    finally:
        await ingested.dispose()


async def test_the_live_queue_view_sees_the_work_in_progress(now_demo: NowDemo) -> None:
    gw = now_demo.gateway()
    data = await gw.query("{ realtime { queues { waitingTasks activeTasks wrappingTasks } } }")
    totals = Counter[str]()
    for queue in data["realtime"]["queues"]:
        totals.update(queue)
    segments = await _segments(now_demo)
    in_progress = [r for r in segments if r["kind"] == "CONVERSATION_IN_PROGRESS"]
    assert totals["waitingTasks"] == sum(
        r["kind"] == "QUEUE" and r["queue_time"] is None for r in segments
    )
    assert totals["activeTasks"] == sum(r["talk_time"] is None for r in in_progress)
    assert totals["wrappingTasks"] == sum(r["talk_time"] is not None for r in in_progress)


# --- every seed and size ---------------------------------------------------------------------


def test_a_queue_whose_agents_are_never_available_again_finds_nobody() -> None:
    """Arrivals are routed in time order; after the last shift nobody answers (None, not NEVER)."""
    agents = [Agent({"agent_id": f"WK{i}"}, senior=False, previous_team=None) for i in range(2)]
    agents[0].available, agents[0].available_ends = [(100, 200)], [200]
    router = Router(agents, {"Sales": [0, 1]})
    assert router.earliest("Sales", 50) == (100, 0)
    router.occupy(0, 150)
    assert router.earliest("Sales", 120) == (150, 0)
    router.occupy(0, 200)
    assert router.earliest("Sales", 160) is None
    assert Router(agents, {"Sales": [1]}).earliest("Sales", 0) is None
    assert NEVER > 2**61


ZONES = ("UTC", "Europe/London", "America/New_York", "Asia/Kolkata")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(seed=118, segments=254, days=1, end=0, zone="UTC")  # once an outbound call at NEVER
@given(
    seed=st.integers(0, 2**32),
    segments=st.integers(1, 2500),
    days=st.integers(1, 3),
    end=st.integers(0, 400 * 86400),
    zone=st.sampled_from(ZONES),
)
def test_every_seed_size_end_and_zone_makes_a_sound_demo(
    seed: int, segments: int, days: int, end: int, zone: str
) -> None:
    now = EPOCH + timedelta(seconds=end)
    builder = DemoBuilder(segments=segments, seed=seed, days=days, end=now, tz=ZoneInfo(zone))
    stream = io.StringIO()
    writer = event_writer(builder, stream)
    limit = int(now.timestamp())
    ids: set[str] = set()
    current: Counter[str] = Counter()
    for day in builder.batches():
        for r in day.segments:
            assert r["segment_id"] not in ids
            ids.add(r["segment_id"])
            assert int(r["started_at"]) < limit
            if r["kind"] in ("AGENT_STATUS", "AGENT_STATUS_IN_PROGRESS"):
                current[r["agent_id"]] += r["kind"] == "AGENT_STATUS_IN_PROGRESS"
            if r["kind"] == "CONVERSATION_IN_PROGRESS":
                assert r["wrap_up_time"] is None
        assert all(int(a["created_at"]) < limit for a in day.assessments)
        assert all(int(c["ended_at"]) <= limit for c in day.conversations)
        if day.tasks:
            writer.add_cases(day.cases)
            writer.write_day(day.segments, day.conversations, day.until)
    assert set(current.values()) == {1} and len(current) == len(builder.agents)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert events and max(e["TimestampMs"] for e in events) < limit * 1000
