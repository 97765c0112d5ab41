"""Every event stands alone: arbitrary JSON in any field of any event type, of either shape, mixed
with good events of other tasks, never raises, is applied or filed as a dead letter, and leaves the
good tasks exactly as ingesting them alone does (on SQLite, and on PostgreSQL when the suite runs
there)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ingest_helpers import (
    EVENT_TYPES,
    call_events,
    fresh_engine,
    ingest_lines,
    template,
    to_cloud,
)
from warehouse import tables as t
from warehouse.ingest_tables import dead_letters

T0 = 1_774_000_000
# the fields whose values reach columns first: generation favours the start of the list
FIELDS = [
    "Timestamp",
    "TimestampMs",
    "TaskAttributes",
    "WorkerAttributes",
    "WorkerTimeInPreviousActivity",
    "TaskPriority",
    "TaskAge",
    "TaskQueueName",
    "WorkerName",
    "WorkerActivityName",
    "WorkerPreviousActivityName",
    "TaskChannelUniqueName",
    "WorkflowName",
    "Reason",
    "TaskCanceledReason",
    "TaskCompletedReason",
    "TaskQueueSid",
    "ReservationSid",
    "WorkerSid",
    "TaskSid",
    "Sid",
    "EventType",
]
CONVERSATION_KEYS = [
    "conversation_id", "case", "campaign", "hold_time", "talk_time", "conversation_measure_1",
    "in_business_hours", "direction", "abandoned", "segment_order", "language", "priority",
]  # fmt: skip
CUSTOMER_KEYS = ["external_id", "phone", "year_of_birth", "acquisition_date", "business_value"]
WORKER_KEYS = ["full_name", "team_id", "department_id", "date_joined", "date_left", "email"]
ENVELOPE = ["time", "data", "id", "type"]

# values that broke ingest before: non-finite, enormous, far-off, unstorable
ABSURD = st.sampled_from(
    [
        float("nan"), float("inf"), -float("inf"), 1e300, 10**30, 2**63, 2**31, -(2**63) - 1,
        "9" * 40, "1e400", "\x00", "a\x00b", "\ud800", 253_402_300_800_000, -62_135_596_800,
        T0 * 1000 * 1000, "9999-12-31", "0001-01-01T00:00:00Z", "", [], {}, True,
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.text(st.characters(codec=None, categories=["Cs", "Cc"]), max_size=3)
)
JSON = st.recursive(
    SCALARS | ABSURD,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)

VALUES = st.one_of(ABSURD, ABSURD, SCALARS, JSON)  # half of them the known troublemakers


@st.composite
def attributes(draw: st.DrawFn, keys: list[str]) -> dict[str, Any]:
    return {
        key: draw(JSON) for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3))
    }


@st.composite
def task_attributes(draw: st.DrawFn) -> Any:
    found = {
        "conversations": draw(attributes(CONVERSATION_KEYS)),
        "customers": draw(attributes(CUSTOMER_KEYS)),
        "from": draw(VALUES),
    }
    value = draw(st.sampled_from([found, found, found["conversations"], draw(JSON)]))
    return json.dumps(value) if draw(st.booleans()) else value


@st.composite
def bad_event(draw: st.DrawFn, n: int) -> str:
    """A valid event of some type, for its own task and worker, with some fields made arbitrary."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    event = template(kind, f"{n}", T0 + draw(st.integers(0, 3600)))
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True)):
        if name == "TaskAttributes":
            event[name] = draw(task_attributes())
        elif name == "WorkerAttributes":
            value = draw(attributes(WORKER_KEYS))
            event[name] = json.dumps(value) if draw(st.booleans()) else value
        elif draw(st.integers(0, 3)):
            event[name] = draw(VALUES)
        else:
            event.pop(name, None)
    if draw(st.booleans()):
        cloud = to_cloud(event, kind)
        for name in draw(st.lists(st.sampled_from(ENVELOPE), max_size=2, unique=True)):
            cloud[name] = draw(VALUES)
        return json.dumps(cloud)
    return json.dumps(event)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    mixed = await fresh_engine(tmp_path / "mixed.db")
    alone = await fresh_engine(tmp_path / "alone.db")
    yield mixed, alone
    await mixed.dispose()
    await alone.dispose()


async def _segments(engine: AsyncEngine, tasks: list[str]) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(t.segments).where(t.segments.c.external_id.in_(tasks)).order_by("segment_id")
        )
        return [dict(row._mapping) for row in result]


async def _letters(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(dead_letters))).scalar_one()
        )


EXAMPLE = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_arbitrary_values_in_any_field_cost_only_their_own_events(
    pair: tuple[AsyncEngine, AsyncEngine], data: st.DataObject
) -> None:
    mixed, alone = pair
    n = next(EXAMPLE)
    good_tasks = [f"WTgood{n}x{i}" for i in range(data.draw(st.integers(1, 3)))]
    good = [
        line
        for i, task in enumerate(good_tasks)
        for line in call_events(task, f"WKgood{n}x{i}", T0 + 600 * i, sid=f"{n}x{i}")
    ]
    bad = data.draw(st.lists(bad_event(n), min_size=2, max_size=8))
    lines = good + bad
    data.draw(st.randoms(use_true_random=False)).shuffle(lines)
    batch = data.draw(st.integers(2, len(lines)))
    letters = await _letters(mixed)

    counts = await ingest_lines(mixed, lines, batch_size=batch, source=f"fuzz{n}")

    assert counts.read == len(lines) == counts.applied + counts.ignored + counts.rejected
    assert await _letters(mixed) - letters == counts.rejected
    assert counts.applied >= len(good)
    await ingest_lines(alone, good, source=f"good{n}")
    expected = await _segments(alone, good_tasks)
    assert len(expected) == 2 * len(good_tasks)
    assert await _segments(mixed, good_tasks) == expected
