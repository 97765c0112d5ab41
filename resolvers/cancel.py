"""Stop a statement whose request was cancelled (query timeout), not just stop waiting for it.

asyncpg cancels the running query on the server when its task is cancelled; we cancel it
explicitly and wait until it stopped, so the statement is gone when the request answers. SQLite
runs in a worker thread that would keep going (reads in `read_in_thread`, or aiosqlite's thread),
so on cancellation we call SQLite's `interrupt()` (safe from any thread): the statement fails at
once, the connection stays usable and goes back to the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection

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


_READERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sqlite-read")


async def read_in_thread(engine: Engine, work: Callable[[Connection], T]) -> T:
    """`work(connection)` on a pooled connection of the synchronous `engine`, in a worker thread.

    On cancellation the SQLite statement is interrupted and the thread waited for, as above;
    work that had not started yet does not start.
    """
    state: dict[str, Any] = {}

    def in_thread() -> T:
        with engine.connect() as conn:
            if state.get("cancelled"):
                raise asyncio.CancelledError
            state["sqlite"] = conn.connection.driver_connection
            return work(conn)

    context = contextvars.copy_context()  # statement counters live in context variables
    done = _READERS.submit(context.run, in_thread)
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
