"""Commit announcements: every gateway process learns at once that the warehouse changed.

- PostgreSQL: the ingest's transaction runs `pg_notify`, delivered to every listening session
  (this process and the others, on this host or another) when, and only if, it commits.
- SQLite: `PRAGMA data_version` changes on a connection whenever another connection commits,
  whichever process it is in; a dedicated connection polls it (a few microseconds a read).

`ChangeFeed` turns either into a version number that grows with each change, and `ticks` into the
rhythm a live subscription runs at: at once, as soon as a change arrives, and on a heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("insights_gateway")

CHANNEL = "insights_warehouse_changes"
POLL_SECONDS = 0.02  # SQLite: how often the change counter is read (adds half of it, on average)
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
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin watching (idempotent); call from the event loop that will read the feed."""
        if self._task is None or self._task.done():
            self._changed = asyncio.Event()
            self._listening = asyncio.Event()
            watch = self._watch_postgres if self._dialect == "postgresql" else self._watch_sqlite
            self._task = asyncio.get_running_loop().create_task(watch())

    async def listening(self, timeout: float = 2.0) -> None:
        """Return once the feed hears every later change (or after `timeout`, a slow database).

        A subscription waits for it before its first result: a change the feed catches up on
        when it starts (PostgreSQL announces nothing to a session that is not yet listening) is
        then part of the first result instead of a second computation right after it.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._listening.wait()

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

    async def ticks(self, spacing: float, heartbeat: float) -> AsyncIterator[None]:
        """At once; then on the leading edge of each change: the first change after a quiet
        moment ticks at once, and the changes that arrive while the caller works on a tick make
        one tick together, `spacing` seconds at the soonest after the one before began; and
        after `heartbeat` seconds without a change.

        A trailing delay (wait, then tick) would add its whole length to every change's latency;
        this adds nothing to a lone change and at most `spacing` to one in a burst. Every caller
        waiting on the feed wakes for the same change at the same moment, so callers that share
        work per change (resolvers/realtime.py) find each other.
        """
        loop = asyncio.get_running_loop()
        seen = self.version
        began = loop.time()
        yield
        while True:
            await self.wait(seen, heartbeat)  # at once if a change came during the last tick
            rest = spacing - (loop.time() - began)
            if rest > 0:
                await asyncio.sleep(rest)
            seen = self.version
            began = loop.time()
            yield

    async def _watch_sqlite(self) -> None:
        path = self.engine.url.database
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            self._listening.set()
            return  # an in-memory database has no other connection to hear from
        reader = _Reader(path)
        try:
            last = await reader.version()
            self._listening.set()
            while True:
                await asyncio.sleep(POLL_SECONDS)
                current = await reader.version()
                if current != last:
                    last = current
                    self.bump()
        finally:
            reader.close()

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
                    self._listening.set()
                    await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server went away: listen again shortly
                log.warning("change feed: listening session lost (%s); retrying", error)
            await asyncio.sleep(RETRY_SECONDS)


class _Reader:
    """A SQLite connection opened, read and closed on one thread of its own, in that order.

    A read still running when the feed is stopped finishes before the close, which needs no
    await (a close from the loop thread during a read crashed the interpreter; aiosqlite's close
    reports to the loop, which may be gone by then).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.connection: sqlite3.Connection | None = None
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="change-feed")

    async def version(self) -> int:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._version)

    def close(self) -> None:
        self.thread.submit(self._close)
        self.thread.shutdown(wait=False)

    def _version(self) -> int:
        if self.connection is None:
            self.connection = sqlite3.connect(self.path, isolation_level=None)
        return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def _close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
