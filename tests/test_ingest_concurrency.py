"""Batches applied at once by two processes (two engines on one database): each task ends up
rebuilt from all of its events, as if the batches had come one after the other.

A batch reads the stored events of its tasks and rebuilds them; if two batches interleaved, the
one committing last would rebuild a task from a set missing the other's event (this happened:
the reads ran before SQLite's write lock was taken).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ingest_helpers import UTC_ZONE, call_events, fresh_engine
from warehouse import tables as t
from warehouse.engine import create_engine
from warehouse.ingest import Ingestor, RawEvent

T0 = 1_774_000_000
TASKS = 30


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    first = await fresh_engine(tmp_path / "concurrent.db")
    second = create_engine(first.url.render_as_string(hide_password=False))
    yield first, second
    await second.dispose()
    await first.dispose()


async def test_concurrent_batches_of_one_task_both_count(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first, second = (Ingestor(e, UTC_ZONE) for e in engines)
    jobs = []
    for k in range(TASKS):  # each task: its queue event in one process, the rest in the other
        lines = call_events(f"WT{k}", f"WK{k}", T0 + k)
        jobs.append(first.apply([RawEvent(lines[0], "first")]))
        jobs.append(second.apply([RawEvent(line, "second") for line in lines[1:]]))
    for counts in await asyncio.gather(*jobs):
        assert counts.rejected == 0, counts.problems
    async with engines[0].connect() as conn:
        kinds = dict(
            (
                await conn.execute(
                    select(t.segments.c.kind, func.count()).group_by(t.segments.c.kind)
                )
            ).all()
        )
    assert kinds == {"QUEUE": TASKS, "CONVERSATION": TASKS}
