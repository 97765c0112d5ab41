"""What one small batch costs the ingest: statements run only for what the batch touches.

A task waiting in a queue has no agent, so it has no handling team to look up and cannot make a
queue's stand-in team unused; the ingest skips those statements for it (an event arrives per
request, so their cost is paid at every event). An accepted reservation still runs them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ingest_helpers import UTC_ZONE, call_events, fresh_engine
from warehouse import tables as t
from warehouse.ingest import Ingestor, RawEvent

T0 = 1_774_000_000
# the transaction's lock, savepoint and commit announcement (PostgreSQL): not the batch's work
CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "SELECT pg_advisory_xact_lock", "SELECT pg_notify")
HANDLING = ("UPDATE segments SET handling_team_id", "DELETE FROM teams", "INSERT INTO teams")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "statements.db")
    yield engine
    await engine.dispose()


async def apply_counting(engine: AsyncEngine, lines: list[str]) -> list[str]:
    """Apply `lines` as one batch; the statements it ran (first line of each)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        counts = await Ingestor(engine, UTC_ZONE).apply([RawEvent(x, "test") for x in lines])
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert counts.rejected == 0, counts.problems
    return seen


def handling(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith(HANDLING)]


async def test_a_waiting_task_looks_up_no_handling_team(engine: AsyncEngine) -> None:
    entered, created, accepted, completed = call_events("WTA", "WKA", T0)
    waiting = await apply_counting(engine, [entered])
    assert handling(waiting) == []
    # was 13 with the handling-team statements
    assert len([s for s in waiting if not s.startswith(CONTROL)]) == 10, waiting
    # the same task once an agent took it: its segments get their handling team
    taken = await apply_counting(engine, [created, accepted, completed])
    assert [s.split(" ")[0] for s in handling(taken)] == ["INSERT", "UPDATE", "DELETE"]
    async with engine.connect() as conn:
        teams = (
            await conn.execute(
                select(t.segments.c.handling_team_id).where(t.segments.c.agent_id == "WKA")
            )
        ).scalars()
        assert set(teams) == {"Sales"}  # no team known for the worker: the queue's stand-in


async def test_a_waiting_task_replacing_a_handled_one_drops_unused_stand_ins(
    engine: AsyncEngine,
) -> None:
    """A later event rebuilding a task whose old segments had an agent still checks the teams."""
    lines = call_events("WTB", "WKB", T0)
    await apply_counting(engine, lines)
    update = json.loads(lines[0]) | {"EventType": "task.completed", "Timestamp": T0 + 200}
    again = await apply_counting(engine, [json.dumps(update)])
    assert any(s.startswith("DELETE FROM teams") for s in again)
