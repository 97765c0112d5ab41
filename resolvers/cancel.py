"""Stop a statement whose request was cancelled (query timeout), not just stop waiting for it.

asyncpg cancels the running query on the server when its task is cancelled; we cancel it
explicitly and wait until it stopped, so the statement is gone when the request answers. aiosqlite
runs SQLite in a worker thread that would keep going, so a SQLite statement runs in a task of its
own, and on cancellation we call SQLite's `interrupt()` (safe from any thread): the statement fails
at once, the connection stays usable and goes back to the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)


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
