"""Commit announcements: every gateway process learns at once that the warehouse changed.

- PostgreSQL: the ingest's transaction runs `pg_notify`, delivered to every listening session
  (this process and the others, on this host or another) when, and only if, it commits.
- SQLite: `PRAGMA data_version` changes on a connection whenever another connection commits,
  whichever process it is in; a dedicated connection polls it (a few microseconds a read).

`ChangeFeed` turns either into a version number that grows with each change, and `ticks` into the
rhythm a live subscription runs at: at once, after each change (coalesced), and on a heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("insights_gateway")

CHANNEL = "insights_warehouse_changes"
POLL_SECONDS = 0.05  # SQLite: how often the change counter is read
RETRY_SECONDS = 1.0  # PostgreSQL: how soon a lost listening session is opened again


async def announce(conn: AsyncConnection) -> None:
    """Tell every gateway process that this transaction, once committed, changed the warehouse.

    Call it inside the transaction: on PostgreSQL the notification is delivered on commit only
    (a rolled-back batch announces nothing); on SQLite the commit itself bumps the counter.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class ChangeFeed:
    """The warehouse's change counter as seen by this process; started on first use."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.version = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin watching (idempotent); call from the event loop that will read the feed."""
        if self._task is None or self._task.done():
            self._changed = asyncio.Event()
            watch = self._watch_postgres if self._dialect == "postgresql" else self._watch_sqlite
            self._task = asyncio.get_running_loop().create_task(watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    @property
    def _dialect(self) -> str:
        return self.engine.dialect.name

    def bump(self) -> None:
        """Record a change and wake everyone waiting for one."""
        self.version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, after: int, timeout: float) -> None:
        """Return once the version is past `after`, or after `timeout` seconds."""
        if self.version > after:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._changed.wait()

    async def ticks(self, coalesce: float, heartbeat: float) -> AsyncIterator[None]:
        """At once; then after each change, at most once per `coalesce` seconds (changes in
        between make one tick); and after `heartbeat` seconds without a change."""
        loop = asyncio.get_running_loop()
        seen = self.version
        yield
        while True:
            last = loop.time()
            await self.wait(seen, heartbeat)
            rest = coalesce - (loop.time() - last)
            if rest > 0:
                await asyncio.sleep(rest)
            seen = self.version
            yield

    async def _watch_sqlite(self) -> None:
        path = self.engine.url.database
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            return  # an in-memory database has no other connection to hear from
        # aiosqlite runs every call, the closing one included, on the connection's own thread in
        # order: a read still running when this task is cancelled finishes before the close. (A
        # close from the loop thread during a read in a worker thread crashed the interpreter.)
        reader = await aiosqlite.connect(path, isolation_level=None)
        try:
            last = await _data_version(reader)
            while True:
                await asyncio.sleep(POLL_SECONDS)
                current = await _data_version(reader)
                if current != last:
                    last = current
                    self.bump()
        finally:
            closed = reader.stop()  # queued behind any read still in flight
            if closed is not None:
                with contextlib.suppress(BaseException):
                    await closed

    async def _watch_postgres(self) -> None:
        while True:
            try:
                async with self.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    lost = asyncio.Event()
                    driver.add_termination_listener(lambda _c, lost=lost: lost.set())
                    await driver.add_listener(CHANNEL, lambda *_: self.bump())
                    self.bump()  # changes made while no session listened are not lost
                    await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server went away: listen again shortly
                log.warning("change feed: listening session lost (%s); retrying", error)
            await asyncio.sleep(RETRY_SECONDS)


async def _data_version(reader: aiosqlite.Connection) -> int:
    async with reader.execute("PRAGMA data_version") as cursor:
        row = await cursor.fetchone()
    assert row is not None  # the pragma always answers one row
    return int(row[0])
