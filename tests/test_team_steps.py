"""Team steps: which new steps change a worker's team, decided in a few statements per batch.

The ingest compares each new team step with the step in force at its moment. It once ran one
statement per step (one per reservation event carrying a worker's attributes); the batched
comparison is checked here against that per-step query, on generated histories.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.ingest_helpers import fresh_engine
from warehouse.ingest import _changing_steps
from warehouse.ingest_tables import worker_teams as wt

STEPS = st.fixed_dictionaries(
    {
        "worker_sid": st.sampled_from(["WK1", "WK2", "WK3"]),
        "since": st.integers(min_value=0, max_value=40),
        "team_id": st.sampled_from(["Blue", "Red"]),
        "department_id": st.sampled_from(["D1", None]),
    }
)


def unique(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One step per (worker, moment), as the ingest builds them."""
    return list({(s["worker_sid"], s["since"]): s for s in steps}.values())


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "steps.db")
    yield engine
    await engine.dispose()


async def per_step_oracle(conn: AsyncConnection, steps: list[dict[str, Any]]) -> list[Any]:
    """The former comparison: the step in force at each new step's moment, one query each."""
    changing = []
    for step in steps:
        before = (
            await conn.execute(
                select(wt.c.since, wt.c.team_id, wt.c.department_id)
                .where(wt.c.worker_sid == step["worker_sid"], wt.c.since <= step["since"])
                .order_by(wt.c.since.desc())
                .limit(1)
            )
        ).first()
        if before is None or (
            before.since != step["since"]
            and (before.team_id, before.department_id) != (step["team_id"], step["department_id"])
        ):
            changing.append(step)
    return changing


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stored=st.lists(STEPS, max_size=12), new=st.lists(STEPS, min_size=1, max_size=10))
async def test_batched_comparison_agrees_with_the_per_step_query(
    engine: AsyncEngine, stored: list[dict[str, Any]], new: list[dict[str, Any]]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(wt.delete())
        if stored:
            await conn.execute(wt.insert(), unique(stored))
        steps = unique(new)
        assert await _changing_steps(conn, steps) == await per_step_oracle(conn, steps)


@pytest.mark.parametrize("workers", [3, 150])
async def test_statements_do_not_follow_the_steps(engine: AsyncEngine, workers: int) -> None:
    """Ten steps for each of `workers` workers: one statement per hundred workers, not 10 per worker."""
    stored = [
        {"worker_sid": f"WK{w}", "since": s, "team_id": "Blue", "department_id": None}
        for w in range(workers)
        for s in range(0, 100, 10)
    ]
    new = [{**step, "since": step["since"] + 5, "team_id": "Red"} for step in stored]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async with engine.begin() as conn:
        await conn.execute(wt.insert(), stored)
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            changing = await _changing_steps(conn, new)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert changing == new  # each moves the worker from Blue to Red
    assert len(statements) == -(-workers // 100)
