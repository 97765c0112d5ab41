"""Database-wide aggregate slots (`INSIGHTS_DB_AGGREGATE_SLOTS`, PostgreSQL advisory locks).

Each test holds slots from a connection of its own, as another worker or gateway would, and checks
that the gateway's metric and report statements wait for one (pages never do), that a request
cancelled while it waits or runs leaves no slot taken, and that the slot statements are counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import Context
from schema.whole_answers import WholeAnswers
from tests.conftest import SCHEMA, Gateway
from tests.databases import engine_name
from warehouse.aggregate_slots import APPLICATION_NAME, NAMESPACE
from warehouse.engine import create_engine, dispose

pytestmark = pytest.mark.skipif(
    engine_name() != "postgresql", reason="advisory locks are PostgreSQL's (SQLite has no slots)"
)

REPORT = """{ report(groupBy: [QUEUE], first: 5) {
  rows { key { queue } metrics { queueSegments } } total { queueSegments } } }"""
METRICS = "{ queues(first: 5) { nodes { name metrics { conversations } } } }"
TOTAL = "{ report(groupBy: [QUEUE]) { total { queueSegments } } }"  # one statement
PAGE = "{ conversations(first: 5) { nodes { conversationId segments { nodes { kind } } } } }"


@pytest.fixture
async def slotted(
    small_engine: AsyncEngine, request: pytest.FixtureRequest
) -> AsyncIterator[Gateway]:
    """A gateway on the small demo whose engine has `request.param` slots (default 1)."""
    slots = getattr(request, "param", 1)
    engine = create_engine(
        small_engine.url.render_as_string(hide_password=False), aggregate_slots=slots
    )
    yield Gateway(engine)
    await dispose(engine)


@pytest.fixture
async def other(small_engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own to the same database, as another worker's or gateway's
    (advisory locks are per database)."""
    args, kwargs = small_engine.dialect.create_connect_args(small_engine.url)
    connection = await asyncpg.connect(*args, **kwargs)
    yield connection
    await connection.close()


async def _take(connection: asyncpg.Connection, slot: int) -> None:
    assert await connection.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, slot)


async def _held(connection: asyncpg.Connection) -> int:
    """How many of the gateway's slots anyone holds."""
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = $1::int::oid AND objsubid = 2",  # the (int, int) form's keys
            NAMESPACE,
        )
    )


async def _waits(ask: Awaitable[Any]) -> tuple[bool, asyncio.Future[Any]]:
    asked = asyncio.ensure_future(ask)
    await asyncio.sleep(0.3)
    return not asked.done(), asked


@pytest.mark.parametrize("document", [REPORT, METRICS], ids=["report", "metrics"])
async def test_aggregates_wait_for_a_slot_another_process_holds(
    slotted: Gateway, other: asyncpg.Connection, document: str
) -> None:
    await _take(other, 0)
    waiting, asked = await _waits(slotted.execute(document))
    assert waiting
    await other.execute("SELECT pg_advisory_unlock($1, 0)", NAMESPACE)
    result = await asyncio.wait_for(asked, 30)
    assert result.errors is None, result.errors
    assert await _held(other) == 0  # given back after the statement


async def test_pages_never_wait(slotted: Gateway, other: asyncpg.Connection) -> None:
    await _take(other, 0)
    result = await asyncio.wait_for(slotted.execute(PAGE), 5)
    assert result.errors is None, result.errors


@pytest.mark.parametrize("slotted", [3], indirect=True)
async def test_any_free_slot_serves(slotted: Gateway, other: asyncpg.Connection) -> None:
    await _take(other, 0)
    await _take(other, 2)
    result = await asyncio.wait_for(slotted.execute(TOTAL), 5)  # slot 1 is free
    assert result.errors is None, result.errors
    await _take(other, 1)
    waiting, asked = await _waits(slotted.execute(TOTAL))
    assert waiting
    await other.execute("SELECT pg_advisory_unlock_all()")
    assert (await asyncio.wait_for(asked, 30)).errors is None


async def test_a_request_cancelled_while_waiting_or_running_leaves_no_slot(
    slotted: Gateway, other: asyncpg.Connection
) -> None:
    await _take(other, 0)
    waiting, asked = await _waits(slotted.execute(REPORT))
    assert waiting
    asked.cancel()  # as the query timeout does
    with pytest.raises(asyncio.CancelledError):
        await asked
    await other.execute("SELECT pg_advisory_unlock($1, 0)", NAMESPACE)
    await asyncio.sleep(0.2)  # the terminated session's lock request is gone with it
    assert await _held(other) == 0

    # cancelled while holding the slot: its statement waits for the table another holds
    async with other.transaction():
        await other.execute("LOCK TABLE segments IN ACCESS EXCLUSIVE MODE")
        waiting, running = await _waits(slotted.execute(REPORT))
        assert waiting
        assert await _held(other) == 1
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    await asyncio.sleep(0.2)
    assert await _held(other) == 0
    result = await asyncio.wait_for(slotted.execute(REPORT), 5)  # and the slots still serve
    assert result.errors is None, result.errors


async def test_whole_answers_take_a_slot_too(slotted: Gateway, other: asyncpg.Connection) -> None:
    whole = WholeAnswers(SCHEMA._schema)

    def context() -> Context:
        return Context(engine=slotted.engine, viewer=slotted.viewer, options=slotted.options)

    for _ in range(3):  # GraphQL answers, learned; then whole
        ctx = context()
        if await whole.answer(ctx, METRICS, None, None) is None:
            assert (await SCHEMA.execute(METRICS, context_value=ctx)).errors is None
            whole.learn(ctx, METRICS, None, None)
    await _take(other, 0)
    waiting, asked = await _waits(whole.answer(context(), METRICS, None, None))
    assert waiting
    await other.execute("SELECT pg_advisory_unlock($1, 0)", NAMESPACE)
    body = await asyncio.wait_for(asked, 30)
    assert body is not None and b'"metrics"' in body


async def test_slot_statements_are_counted(slotted: Gateway) -> None:
    """A report's rows and total: two grouped statements, each between a take and a release."""
    with slotted.counting() as statements:
        await slotted.query(REPORT)
    takes = [s for s in statements if "pg_advisory_lock" in s]
    releases = [s for s in statements if "pg_advisory_unlock" in s]
    reads = [s for s in statements if "advisory" not in s]
    assert len(reads) == 2 and all("GROUP BY" in s or "count" in s.lower() for s in reads)
    assert len(takes) == len(releases) == len(reads)


async def test_a_slot_connection_the_server_dropped_is_replaced(
    slotted: Gateway, other: asyncpg.Connection
) -> None:
    """A restart or an idle timeout closes the slot pool's connection: the next aggregate takes
    its slot on a new one instead of failing."""
    assert (await slotted.execute(TOTAL)).errors is None  # the slot pool has a connection now
    killed = await other.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = $1 AND datname = current_database()",
        APPLICATION_NAME,
    )
    assert killed == 1
    await asyncio.sleep(0.1)
    result = await asyncio.wait_for(slotted.execute(TOTAL), 5)
    assert result.errors is None, result.errors
