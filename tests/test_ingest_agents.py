"""Agents from events: status segments keep one identity per change (sub-second changes, the same
change delivered twice, any arrival order), the current status is the latest change by event time,
and the agent is named by the latest attributes by event time, whichever event kind carried them."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Gateway
from tests.databases import fresh_database
from tests.ingest_helpers import UTC_ZONE, WIDE, call_events, fresh_engine, ingest_lines
from warehouse import migrate
from warehouse import tables as t
from warehouse.derive import current_status, status_segments
from warehouse.engine import create_engine
from warehouse.taskrouter import parse_event

T0 = 1_774_000_000
ACTIVITIES = ["Available", "Break", "Lunch", "Offline", "Training"]
RUN = itertools.count()


def relaxed(examples: int) -> settings:
    """Few examples (each ingests into a database), no deadline, fixtures shared by examples."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "agents.db")
    yield engine
    await engine.dispose()


def _change(
    worker: str, at_ms: int, activity: str, previous: str | None, spent: int, n: int
) -> Any:
    event: dict[str, Any] = {
        "EventType": "worker.activity.update" if previous else "worker.created",
        "Sid": f"EV{worker}-{n}",
        "TimestampMs": at_ms,
        "WorkerSid": worker,
        "WorkerActivityName": activity,
    }
    if previous:
        event |= {"WorkerPreviousActivityName": previous, "WorkerTimeInPreviousActivity": spent}
    return event


async def _statuses(engine: AsyncEngine, worker: str) -> list[dict[str, Any]]:
    s = t.segments
    async with engine.connect() as conn:
        found = await conn.execute(
            select(s.c.segment_id, s.c.kind, s.c.activity, s.c.activity_time, s.c.started_at)
            .where(s.c.agent_id == worker, s.c.kind.like("AGENT_STATUS%"))
            .order_by(s.c.segment_id)
        )
        return [dict(row._mapping) for row in found]


@relaxed(20)
@given(
    gaps=st.lists(st.integers(1, 2500), min_size=1, max_size=7),
    picks=st.lists(st.integers(1, len(ACTIVITIES) - 1), min_size=8, max_size=8),
    twice=st.lists(st.booleans(), min_size=8, max_size=8),
    order=st.randoms(use_true_random=False),
    batch=st.integers(1, 20),
)
async def test_status_changes_in_one_second_or_delivered_twice_keep_one_segment_each(
    engine: AsyncEngine,
    gaps: list[int],
    picks: list[int],
    twice: list[bool],
    order: Any,
    batch: int,
) -> None:
    """Changes milliseconds apart (whole seconds in `WorkerTimeInPreviousActivity`, as TaskRouter
    sends them), some delivered again under a second event SID, in shuffled order."""
    worker = f"WKst{next(RUN)}"
    times = [T0 * 1000 + 250]
    for gap in gaps:
        times.append(times[-1] + gap)
    activities = ["Offline"]
    for pick in picks[: len(gaps)]:
        activities.append(ACTIVITIES[(ACTIVITIES.index(activities[-1]) + pick) % len(ACTIVITIES)])
    changes = [
        _change(worker, at, activity, previous, (at - before) // 1000, n)
        for n, (at, activity, previous, before) in enumerate(
            zip(times, activities, [None, *activities], [times[0], *times], strict=False)
        )
    ]
    lines = [json.dumps(c) for c in changes]
    lines += [
        json.dumps(c | {"Sid": c["Sid"] + "-again"})
        for c, a in zip(changes, twice, strict=False)
        if a
    ]
    order.shuffle(lines)

    counts = await ingest_lines(engine, lines, batch_size=batch)

    assert (counts.applied, counts.rejected) == (len(lines), 0)
    found = await _statuses(engine, worker)
    expected_closed = sorted(
        (previous, (at - before) // 1000, at // 1000 - (at - before) // 1000)
        for at, previous, before in zip(times[1:], activities, times, strict=False)
    )
    closed = [r for r in found if r["kind"] == "AGENT_STATUS"]
    assert sorted(
        (r["activity"], r["activity_time"], r["started_at"].timestamp()) for r in closed
    ) == [(a, spent, float(start)) for a, spent, start in expected_closed]
    current = [r for r in found if r["kind"] == "AGENT_STATUS_IN_PROGRESS"]
    assert [(r["activity"], r["started_at"].timestamp()) for r in current] == [
        (activities[-1], float(times[-1] // 1000))
    ]
    assert len({r["segment_id"] for r in found}) == len(found) == len(changes)


def test_changes_sharing_a_second_follow_their_chain_for_the_current_status() -> None:
    """Second-precision timestamps: Available → Break → Lunch in one second, in any order."""

    def update(activity: str, previous: str, spent: int, sid: str) -> Any:
        return parse_event(_change("WK1", T0 * 1000, activity, previous, spent, 0) | {"Sid": sid})

    events = [update("Break", "Available", 5, "EVz"), update("Lunch", "Break", 0, "EVa")]
    for arrival in (events, events[::-1]):
        latest = current_status(arrival)
        assert latest is not None and latest.worker_activity_name == "Lunch"
        closed, open_row = status_segments("WK1", arrival, UTC_ZONE)
        assert sorted((r["activity"], r["activity_time"]) for r in closed) == [
            ("Available", 5),
            ("Break", 0),
        ]
        assert open_row is not None and open_row["activity"] == "Lunch"
        assert open_row["segment_id"] not in {r["segment_id"] for r in closed}


def _attributed(kind: str, at: int, name: str, team: str, n: int) -> dict[str, Any]:
    attributes = {"full_name": name, "team_id": team, "team_name": f"Team {team}",
                  "department_id": "D1", "department_name": "Sales floor"}  # fmt: skip
    event: dict[str, Any] = {
        "EventType": kind, "Sid": f"EVattr{n}", "Timestamp": at, "WorkerSid": "WKada",
        "WorkerName": "ada", "WorkerAttributes": json.dumps(attributes),
    }  # fmt: skip
    if kind.startswith("reservation."):
        event |= {"TaskSid": f"WTattr{n}", "ReservationSid": f"WRattr{n}", "TaskQueueName": "Sales"}
    return event


AGENTS = """agents(filter: {agentId: {eq: "WKada"}}) { nodes { fullName team { teamId name }
             department { departmentId name } } }"""


async def test_an_agent_first_seen_on_a_reservation_is_named_from_its_worker_attributes(
    engine: AsyncEngine,
) -> None:
    calls = call_events("WTcall", "WKada", T0)
    created = json.loads(calls[1]) | {
        "WorkerName": "ada",
        "WorkerAttributes": json.dumps(
            {"full_name": "Ada Lovelace", "team_id": "T7", "team_name": "Analytical",
             "department_id": "D1", "department_name": "Engines"}
        ),
    }  # fmt: skip
    counts = await ingest_lines(engine, [calls[0], json.dumps(created), *calls[2:]])
    assert (counts.applied, counts.rejected) == (4, 0)
    data = await Gateway(engine, WIDE).query(
        "{ %s segments(filter: {kind: {eq: CONVERSATION}}) { nodes { handlingTeam { teamId } } } }"
        % AGENTS
    )
    assert data["agents"]["nodes"] == [
        {"fullName": "Ada Lovelace", "team": {"teamId": "T7", "name": "Analytical"},
         "department": {"departmentId": "D1", "name": "Engines"}}
    ]  # fmt: skip
    assert data["segments"]["nodes"] == [{"handlingTeam": {"teamId": "T7"}}]


KINDS = ["worker.created", "worker.attributes.update", "worker.activity.update",
         "reservation.created", "reservation.accepted", "reservation.completed"]  # fmt: skip


@relaxed(12)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=2, max_size=5),
    order=st.randoms(use_true_random=False),
    batch=st.integers(1, 5),
)
async def test_the_latest_attributes_by_event_time_name_the_agent_whatever_brought_them(
    tmp_path: Path, kinds: list[str], order: Any, batch: int
) -> None:
    engine = await fresh_engine(tmp_path / f"named{next(RUN)}.db")
    try:
        events = [
            _attributed(kind, T0 + 60 * n, f"Ada {n}", f"T{n}", n) for n, kind in enumerate(kinds)
        ]
        lines = [json.dumps(e) for e in events]
        order.shuffle(lines)
        counts = await ingest_lines(engine, lines, batch_size=batch)
        assert counts.rejected == 0
        data = await Gateway(engine, WIDE).query("{ %s }" % AGENTS)
        last = len(kinds) - 1
        assert data["agents"]["nodes"] == [
            {"fullName": f"Ada {last}", "team": {"teamId": f"T{last}", "name": f"Team T{last}"},
             "department": {"departmentId": "D1", "name": "Sales floor"}}
        ]  # fmt: skip
    finally:
        await engine.dispose()


async def test_the_migration_renames_status_segments_and_fills_worker_attributes(
    tmp_path: Path,
) -> None:
    """A warehouse at 0005 with `<worker>-<epoch start>` statuses and a stored worker event."""
    engine = create_engine(await fresh_database(tmp_path, "statuses"))
    try:
        await migrate.upgrade(engine, "0005")
        old = [
            ("AGENT_STATUS", T0, "Break", 300),
            ("AGENT_STATUS_IN_PROGRESS", T0 + 300, "Lunch", None),
        ]
        payload = json.dumps(_attributed("worker.created", T0, "Ada Old", "T1", 0))
        async with engine.begin() as conn:
            await conn.execute(t.agents.insert().values(agent_id="WKada"))
            for kind, start, activity, spent in old:
                await conn.execute(
                    text(
                        "INSERT INTO segments (segment_id, kind, abandoned, virtual, started_at, "
                        "activity, activity_time, agent_id) VALUES (:id, :kind, 'NO', true, :start, "
                        ":activity, :spent, 'WKada')"
                    ),
                    {"id": f"WKada-{start}", "kind": kind, "start": start, "activity": activity,
                     "spent": spent},
                )  # fmt: skip
            await conn.execute(
                text(
                    'INSERT INTO workload (workload_id, segment_id, "order", agent_id, kind, '
                    "interval_start, talk_time, wrap_up_time, activity_time, "
                    "parallel_conversations) VALUES (:w, :s, 0, 'WKada', 'AGENT_STATUS', :q, 0, 0, "
                    "300, 0)"
                ),
                {"w": f"WKada-{T0}:0", "s": f"WKada-{T0}", "q": T0},
            )
            await conn.execute(
                text("INSERT INTO open_statuses (worker_sid, segment_id) VALUES ('WKada', :s)"),
                {"s": f"WKada-{T0 + 300}"},
            )
            await conn.execute(
                text(
                    "INSERT INTO events (dedup_key, event_type, worker_sid, timestamp_ms, "
                    "has_worker_attributes, payload, received_at) VALUES ('sid:EVattr0', "
                    "'worker.created', 'WKada', :ms, true, :payload, :ms)"
                ),
                {"ms": T0 * 1000, "payload": payload},
            )
        await migrate.upgrade(engine)
        statuses = await _statuses(engine, "WKada")
        ids = {r["kind"]: r["segment_id"] for r in statuses}
        assert ids["AGENT_STATUS"].startswith(f"WKada-{T0 * 1000}-")
        assert ids["AGENT_STATUS_IN_PROGRESS"].startswith(f"WKada-{(T0 + 300) * 1000}-")
        async with engine.connect() as conn:
            workload = (
                await conn.execute(text("SELECT workload_id, segment_id FROM workload"))
            ).one()
            opened = (await conn.execute(text("SELECT segment_id FROM open_statuses"))).scalar_one()
            remembered = (
                await conn.execute(text("SELECT payload FROM worker_attributes"))
            ).scalar_one()
        assert tuple(workload) == (f"{ids['AGENT_STATUS']}:0", ids["AGENT_STATUS"])
        assert opened == ids["AGENT_STATUS_IN_PROGRESS"]
        assert json.loads(remembered)["Sid"] == "EVattr0"
        # the next change of the worker closes the renamed open status: no duplicate, no orphan
        change = _change("WKada", (T0 + 900) * 1000, "Available", "Lunch", 600, 9)
        await ingest_lines(engine, [json.dumps(change)])
        after = await _statuses(engine, "WKada")
        assert sorted((r["kind"], r["activity"]) for r in after) == [
            ("AGENT_STATUS", "Break"),
            ("AGENT_STATUS", "Lunch"),
            ("AGENT_STATUS_IN_PROGRESS", "Available"),
        ]
        assert next(r for r in after if r["activity"] == "Lunch")["segment_id"].startswith(
            f"WKada-{(T0 + 300) * 1000}-"
        )
    finally:
        await engine.dispose()
