"""The process's ingest queue: requests arriving while a transaction runs share the next one,
each with its own answer, and one request's failure costs the others nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.ingest_helpers import UTC_ZONE, call_events, fresh_engine
from warehouse.ingest import Ingestor, RawEvent
from warehouse.ingest_queue import IngestQueue
from warehouse.ingest_tables import dead_letters, events

T0 = 1_774_000_000
REQUESTS = 20


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "queue.db")
    yield engine
    await engine.dispose()


def request(k: int) -> list[RawEvent]:
    """One callback request: the events of call `k` that the queue may batch with others."""
    return [
        RawEvent(line, f"request-{k}", n)
        for n, line in enumerate(call_events(f"WT{k}", f"WK{k}", T0 + k), 1)
    ]


async def count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_concurrent_requests_share_one_transaction(engine: AsyncEngine) -> None:
    queue = IngestQueue(Ingestor(engine, UTC_ZONE))
    answers = await asyncio.gather(*(queue.apply(request(k)) for k in range(REQUESTS)))
    assert queue.transactions == 1  # one per request before the queue
    assert [(a.read, a.applied, a.rejected) for a in answers] == [(4, 4, 0)] * REQUESTS
    assert await count(engine, events) == 4 * REQUESTS
    # a lone request later is written at once, on its own
    again = await queue.apply(request(REQUESTS))
    assert (again.applied, queue.transactions) == (4, 2)


async def test_each_request_gets_its_own_counts(engine: AsyncEngine) -> None:
    queue = IngestQueue(Ingestor(engine, UTC_ZONE))
    bad = [RawEvent("{not json", "bad", 1), *request(1)[:1]]
    repeat = request(0)  # the same events as the first request: stored by it, so ignored
    good, refused, ignored = await asyncio.gather(
        queue.apply(request(0)), queue.apply(bad), queue.apply(repeat)
    )
    assert queue.transactions == 1
    assert (good.applied, good.rejected, good.ignored, good.problems) == (4, 0, 0, [])
    assert (refused.applied, refused.rejected) == (1, 1)
    assert refused.problems and refused.problems[0].startswith("bad:1: ")
    assert (ignored.applied, ignored.ignored) == (0, 4)
    assert await count(engine, dead_letters) == 1


async def test_a_failing_request_costs_the_others_nothing(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure of one request's writes that no per-event retry catches undoes that request
    alone (its savepoint); the others of the transaction are stored and answered."""
    ingestor = Ingestor(engine, UTC_ZONE)
    store = ingestor._store

    async def failing(
        conn: AsyncConnection, counts: Any, letters: Any, parsed: Any, now: int
    ) -> None:
        await store(conn, counts, letters, parsed, now)
        if any(a.raw.source == "request-1" for a in parsed.values()):
            raise ValueError("a failure after the request's writes")

    monkeypatch.setattr(ingestor, "_store", failing)
    queue = IngestQueue(ingestor)
    outcomes = await asyncio.gather(
        *(queue.apply(request(k)) for k in range(3)), return_exceptions=True
    )
    assert queue.transactions == 1
    assert isinstance(outcomes[1], ValueError)
    assert [o.applied for o in (outcomes[0], outcomes[2])] == [4, 4]  # type: ignore[union-attr]
    async with engine.connect() as conn:
        tasks = set((await conn.execute(select(events.c.task_sid).distinct())).scalars())
    assert tasks == {"WT0", "WT2"}


async def test_a_failed_transaction_fails_every_request_in_it(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure outside one request's data (here the commit announcement) stores nothing and
    answers every request of the transaction with it; the queue goes on with the next ones."""
    import warehouse.ingest as ingest

    async def broken(conn: AsyncConnection) -> None:
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr(ingest, "announce", broken)
    queue = IngestQueue(Ingestor(engine, UTC_ZONE))
    outcomes = await asyncio.gather(
        *(queue.apply(request(k)) for k in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionResetError) for o in outcomes), outcomes
    assert await count(engine, events) == 0
    monkeypatch.undo()
    assert (await queue.apply(request(5))).applied == 4
