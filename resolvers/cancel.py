"""Stop a statement whose request was cancelled (query timeout), not just stop waiting for it.

asyncpg cancels the running query on the server when its task is cancelled; we cancel it
explicitly and wait until it stopped, so the statement is gone when the request answers. SQLite
runs in a worker thread that would keep going (reads in `read_in_thread`, or aiosqlite's thread),
so on cancellation we call SQLite's `interrupt()` (safe from any thread): the statement fails at
once, the connection stays usable and goes back to the pool.

SQLite reads run in two thread pools. Aggregates (metrics and reports: hundreds of milliseconds of
CPU over a day of segments) run inside `aggregate_reads()`, on threads that lowered their own
scheduling priority; page reads (milliseconds) run on threads at the process's priority. sqlite3
releases the GIL while a statement runs, so the kernel schedules these threads like any others:
a short read that wakes up while aggregates keep the cores busy runs first instead of waiting
for its time slice behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from warehouse.aggregate_slots import aggregate_slot

log = logging.getLogger(__name__)
T = TypeVar("T")


def _sqlite_connection(driver_connection: Any) -> Any:
    """The `sqlite3.Connection` behind an aiosqlite connection, or None for other drivers."""
    if type(driver_connection).__module__.startswith("aiosqlite"):
        return getattr(driver_connection, "_connection", None)
    return None


async def execute(
    conn: AsyncConnection, statement: Any, params: dict[str, Any] | None = None
) -> CursorResult[Any]:
    """`conn.execute(statement, params)`, interrupting the statement if the caller is cancelled."""
    raw = await conn.get_raw_connection()
    sqlite = _sqlite_connection(raw.driver_connection)
    task = asyncio.ensure_future(conn.execute(statement, params))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if sqlite is not None:
            sqlite.interrupt()
            log.info("interrupted the SQLite statement of a cancelled request")
        else:
            task.cancel()  # asyncpg sends the server a cancel request for the running query
        # wait (milliseconds) until it failed with "interrupted", so the connection goes back to
        # the pool clean; a second cancellation (timeout, then the request's clean-up) must not
        # leave it half-way
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: no "exception never retrieved" warning
        raise


# Linux niceness added to the aggregate threads' own (the range is -20..19; CFS gives a thread at
# +10 about a tenth of the CPU share of one at +0 when both are runnable)
AGGREGATE_NICENESS = 10


def _lower_own_priority() -> None:
    """Initializer of the aggregate pool's threads: lower this thread's priority, not the process's.

    On Linux a thread is a task with its own nice value, set through its native id; elsewhere
    `PRIO_PROCESS` with a thread id would name a process, so the pool only stays separate there.
    """
    if sys.platform == "linux":
        me = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, me)
        os.setpriority(os.PRIO_PROCESS, me, min(19, niceness + AGGREGATE_NICENESS))


_READERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sqlite-read")
_AGGREGATES = ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="sqlite-aggregate", initializer=_lower_own_priority
)
_AGGREGATE = contextvars.ContextVar("aggregate_reads", default=False)
_URGENT = contextvars.ContextVar("urgent_reads", default=False)
_IN_TURN = contextvars.ContextVar("aggregate_turn", default=False)


@contextlib.contextmanager
def aggregate_reads() -> Iterator[None]:
    """Reads started inside the block run on the low-priority aggregate threads (SQLite)."""
    token = _AGGREGATE.set(True)
    try:
        yield
    finally:
        _AGGREGATE.reset(token)


@contextlib.contextmanager
def urgent_reads() -> Iterator[None]:
    """Reads started inside the block run at the process's priority, aggregates included: the
    live picture's metrics (resolvers/realtime.py) are awaited by every subscriber of a change,
    and on a busy machine a niced thread would make each of them wait for its share of the CPU."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def aggregate_turn(limit: int, engine: AsyncEngine) -> AsyncIterator[None]:
    """Inside `aggregate_reads()` (not `urgent_reads()`), wait until fewer than `limit`
    aggregates of this process are in the block (0: no limit), then for one of the database's
    aggregate slots where the engine has them (`warehouse/aggregate_slots.py`).

    PostgreSQL runs aggregates in its own backends, with no priority per statement: when it has
    no more cores than the gateway has workers, a page read shares them with every aggregate in
    flight. One turn per worker, or one slot across them all, keeps page reads ahead
    (`Options.aggregate_concurrency`, `Settings.db_aggregate_slots`).
    """
    if not _AGGREGATE.get() or _URGENT.get() or _IN_TURN.get():
        yield  # (a read inside a turn is part of it: neither turn is reentrant)
        return
    token = _IN_TURN.set(True)
    try:
        async with _worker_turn(limit), aggregate_slot(engine):
            yield
    finally:
        _IN_TURN.reset(token)


@contextlib.asynccontextmanager
async def _worker_turn(limit: int) -> AsyncIterator[None]:
    if limit <= 0:
        yield
        return
    turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
    semaphore = turns.get(limit)
    if semaphore is None:
        semaphore = turns[limit] = asyncio.Semaphore(limit)
    async with semaphore:
        yield


async def read_in_thread(engine: Engine, work: Callable[[Connection], T]) -> T:
    """`work(connection)` on a pooled connection of the synchronous `engine`, in a worker thread.

    On cancellation the SQLite statement is interrupted and the thread waited for, as above;
    work that had not started yet does not start. Inside `aggregate_reads()` it runs on the
    aggregate threads, unless inside `urgent_reads()` too.
    """
    state: dict[str, Any] = {}

    def in_thread() -> T:
        with engine.connect() as conn:
            if state.get("cancelled"):
                raise asyncio.CancelledError
            state["sqlite"] = conn.connection.driver_connection
            return work(conn)

    context = contextvars.copy_context()  # statement counters live in context variables
    pool = _AGGREGATES if _AGGREGATE.get() and not _URGENT.get() else _READERS
    done = pool.submit(context.run, in_thread)
    try:
        return await asyncio.wrap_future(done)
    except asyncio.CancelledError:
        state["cancelled"] = True
        sqlite = state.get("sqlite")
        if sqlite is not None:
            sqlite.interrupt()
            log.info("interrupted the SQLite statement of a cancelled request")
        while not done.done():  # a second cancellation must not leave it half-way
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wrap_future(done)
        if not done.cancelled():
            done.exception()  # retrieved: no "exception never retrieved" warning
        raise
