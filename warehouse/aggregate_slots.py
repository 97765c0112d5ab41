"""Database-wide turns for aggregate statements on PostgreSQL: advisory locks as slots.

PostgreSQL has no priority per statement. When the database shares its cores with the gateway
(or has few), every metric and report statement in flight takes a core's share from the page
statements beside it, whichever worker or gateway sent it. A per-worker limit
(`resolvers/cancel.py: aggregate_turn`) cannot go below one per worker; `slots` advisory locks
taken around each aggregate can: with one slot, one aggregate runs at a time across every worker
and gateway on the database, and the other cores stay free for pages.

A slot is held on a connection of a small asyncpg pool of its own (as many connections as slots
per process), not on the connection that runs the statement, so every read path (SQLAlchemy's,
the direct reads', whole answers') takes turns the same way, and a waiting aggregate holds no
read connection. The lock is a session lock: released by `pg_advisory_unlock` after the
statement, and by the server when the connection ends, which is what happens when a request is
cancelled while it waits or runs (the connection is terminated, never returned holding a slot).
Waiting costs no CPU: the server queues the lock. Each slot costs two round trips (take,
release) beside an aggregate of tens to hundreds of milliseconds; they are reported to the
engine's statement listeners like any other statement.
"""

from __future__ import annotations

import contextlib
import random
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.side_pools import SidePool

# the advisory locks' first key: the gateway's namespace (any other use of advisory locks on the
# database must stay out of it); the second key is the slot's number
NAMESPACE = 0x1A5E_6A7E
APPLICATION_NAME = "insights-gateway aggregate slots"
IDLE_SECONDS = 60.0

# any free slot, in one round trip (the scan stops at the first lock it gets)
TAKE_FREE = (
    "SELECT slot FROM generate_series(0, $2::int - 1) AS slot"
    " WHERE pg_try_advisory_lock($1::int, slot) LIMIT 1"
)
WAIT_FOR = "SELECT pg_advisory_lock($1::int, $2::int)"
RELEASE = "SELECT pg_advisory_unlock($1::int, $2::int)"


class AggregateSlots:
    """`slots` database-wide turns for an engine's aggregate statements."""

    def __init__(self, engine: AsyncEngine, slots: int, server_settings: dict[str, str]) -> None:
        self.slots = slots
        self._pool = SidePool(engine, server_settings, APPLICATION_NAME, slots, IDLE_SECONDS)

    async def _take(self, connection: asyncpg.Connection) -> int:
        """A slot's number: a free one, else the next of a random one to come free."""
        if self.slots > 1:
            self._pool.report(TAKE_FREE, (NAMESPACE, self.slots))
            free = await connection.fetchval(TAKE_FREE, NAMESPACE, self.slots)
            if free is not None:
                return int(free)
        slot = random.randrange(self.slots)
        self._pool.report(WAIT_FOR, (NAMESPACE, slot))
        await connection.execute(WAIT_FOR, NAMESPACE, slot)
        return slot

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold a slot for the block; wait (in the database, no CPU) while all are taken. (A
        connection the server closed is replaced by the pool when it is next taken.)"""
        pool = await self._pool.connections()
        async with pool.acquire() as connection:
            try:
                slot = await self._take(connection)
            except BaseException:
                connection.terminate()  # whatever it was waiting for ends with its session
                raise
            try:
                yield
            except Exception:
                with contextlib.suppress(Exception):  # the statement's error is the news
                    await self._release(connection, slot)
                raise
            except BaseException:
                connection.terminate()  # cancelled: no more awaiting here
                raise
            await self._release(connection, slot)

    async def _release(self, connection: asyncpg.Connection, slot: int) -> None:
        try:
            self._pool.report(RELEASE, (NAMESPACE, slot))
            await connection.execute(RELEASE, NAMESPACE, slot)
        except BaseException:
            connection.terminate()
            raise

    async def close(self) -> None:
        await self._pool.close()


_SLOTS: weakref.WeakKeyDictionary[AsyncEngine, AggregateSlots] = weakref.WeakKeyDictionary()


def register_slots(engine: AsyncEngine, slots: int, server_settings: dict[str, str]) -> None:
    """Give a PostgreSQL (asyncpg) engine `slots` database-wide aggregate turns (0: none)."""
    if slots > 0:
        _SLOTS[engine] = AggregateSlots(engine, slots, server_settings)


@asynccontextmanager
async def aggregate_slot(engine: AsyncEngine) -> AsyncIterator[None]:
    """One of the engine's database-wide slots for the block, where it has some."""
    slots = _SLOTS.get(engine)
    if slots is None:
        yield
        return
    async with slots.turn():
        yield


async def close_slots(engine: AsyncEngine) -> None:
    """Close the engine's slot pool, if it has one."""
    slots = _SLOTS.pop(engine, None)
    if slots is not None:
        await slots.close()
