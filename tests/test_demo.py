"""The demo contact center is deterministic, plausible and complete enough to exercise the API."""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import DEMO_END, Gateway
from tests.databases import fresh_database
from tests.helpers import rows, table_rows
from warehouse.demo import build_demo
from warehouse.engine import create_engine


async def _digest(engine: AsyncEngine) -> str:
    found = await rows(engine, "SELECT * FROM segments ORDER BY segment_id")
    return hashlib.sha256(repr(found).encode()).hexdigest()


async def _build(path: Path, seed: int) -> AsyncEngine:
    engine = create_engine(await fresh_database(path.parent, path.stem))
    await build_demo(engine, segments=600, seed=seed, days=2, end=DEMO_END, tz=ZoneInfo("UTC"))
    return engine


async def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    first, again, other = (
        await _build(tmp_path / "a.db", 3),
        await _build(tmp_path / "b.db", 3),
        await _build(tmp_path / "c.db", 4),
    )
    try:
        assert await _digest(first) == await _digest(again)
        assert await _digest(first) != await _digest(other)
    finally:
        for engine in (first, again, other):
            await engine.dispose()


async def test_refuses_a_database_that_has_segments(small_engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="already has"):
        await build_demo(
            small_engine, segments=10, seed=1, days=1, end=date(2026, 1, 1), tz=ZoneInfo("UTC")
        )


async def test_segment_count_is_close_to_the_target(gw: Gateway) -> None:
    (count,) = (await rows(gw.engine, "SELECT count(*) AS n FROM segments"))[0].values()
    assert 2_000 * 0.85 <= count <= 2_000 * 1.15


async def test_every_kind_of_segment_and_outcome_occurs(gw: Gateway) -> None:
    found = await rows(
        gw.engine,
        """SELECT kind, abandoned, max(segment_order) AS max_order, max(hold_time) AS max_hold,
           count(DISTINCT direction) AS directions FROM segments GROUP BY kind, abandoned""",
    )
    kinds = {r["kind"] for r in found}
    assert {
        "QUEUE", "CONVERSATION", "MISSED_CONVERSATION", "REJECTED_CONVERSATION",
        "AGENT_STATUS", "AGENT_STATUS_IN_PROGRESS",
    } <= kinds  # fmt: skip
    assert {r["abandoned"] for r in found if r["kind"] == "QUEUE"} == {"NO", "YES", "FOLLOW_UP"}
    handled = next(r for r in found if r["kind"] == "CONVERSATION" and r["abandoned"] == "NO")
    assert handled["max_order"] >= 2, "some conversations were transferred"
    assert handled["max_hold"] > 0, "some customers were put on hold"
    assert handled["directions"] >= 2, "inbound and outbound"


async def test_traffic_follows_business_hours(gw: Gateway) -> None:
    per_hour: dict[int, int] = defaultdict(int)
    for row in await table_rows(gw.engine, "Segment"):
        if row["kind"] == "QUEUE" and row["started_at"].weekday() < 5:
            per_hour[row["started_at"].hour] += 1
    morning_peak = per_hour[10] + per_hour[11]
    night = per_hour[2] + per_hour[3]
    assert morning_peak > 10 * max(night, 1)


async def test_an_agent_takes_one_call_at_a_time(gw: Gateway) -> None:
    calls: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in await table_rows(gw.engine, "Segment"):
        if (
            row["kind"] == "CONVERSATION"
            and row["agent_id"]
            and row["communication_channel"] == "Call"
        ):
            start = int(row["started_at"].timestamp())
            calls[row["agent_id"]].append((start, start + row["talk_time"] + row["wrap_up_time"]))
    assert calls
    for intervals in calls.values():
        intervals.sort()
        for (_, end), (next_start, _) in itertools.pairwise(intervals):
            assert next_start >= end


async def test_handled_segments_belong_to_agents_on_shift(gw: Gateway) -> None:
    """Conversations are answered while the agent is Available, never while Offline."""
    segments = await table_rows(gw.engine, "Segment")
    statuses: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for row in segments:
        if row["kind"] == "AGENT_STATUS":
            start = int(row["started_at"].timestamp())
            statuses[row["agent_id"]].append((start, start + row["activity_time"], row["activity"]))
    answered = [
        r for r in segments if r["kind"] == "CONVERSATION" and r["agent_id"] and r["ring_time"]
    ]
    assert answered
    for row in answered:
        offered = int(row["started_at"].timestamp()) - row["ring_time"]
        activity = next((a for s, e, a in statuses[row["agent_id"]] if s <= offered < e), "Offline")
        assert activity == "Available", (row["segment_id"], activity)


async def test_agent_status_segments_tile_each_agents_timeline(gw: Gateway) -> None:
    """One status at a time: each agent's statuses follow each other without gap or overlap."""
    by_agent: dict[str, list[tuple[int, int | None, str]]] = defaultdict(list)
    for row in await table_rows(gw.engine, "Segment"):
        if row["kind"] in ("AGENT_STATUS", "AGENT_STATUS_IN_PROGRESS"):
            start = int(row["started_at"].timestamp())
            by_agent[row["agent_id"]].append((start, row["activity_time"], row["activity"]))
    assert by_agent
    for statuses in by_agent.values():
        statuses.sort()
        for (start, length, activity), (next_start, _, next_activity) in itertools.pairwise(
            statuses
        ):
            assert length is not None and length > 0
            assert start + length == next_start
            assert activity != next_activity
        assert statuses[-1][1] is None, "the last status is still in progress"


async def test_postgresql_has_the_demos_statistics_and_sqlite_keeps_none(
    small_engine: AsyncEngine,
) -> None:
    """The planner knows the built tables' sizes on PostgreSQL; SQLite's plans stay the ones
    the statements were shaped for (no `sqlite_stat1`)."""
    (count,) = await rows(small_engine, "SELECT count(*) AS n FROM segments")
    if small_engine.dialect.name == "postgresql":
        (stats,) = await rows(
            small_engine, "SELECT reltuples FROM pg_class WHERE relname = 'segments'"
        )
        assert stats["reltuples"] == pytest.approx(count["n"], rel=0.2)
    else:
        found = await rows(
            small_engine, "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"
        )
        assert found == []
