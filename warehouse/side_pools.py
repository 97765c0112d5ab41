"""Small asyncpg pools beside an engine's own, on the same server with the same settings.

Direct reads (`warehouse/direct_reads.py`) and aggregate slots (`warehouse/aggregate_slots.py`)
each keep one: opened at first use on the running event loop (a worker has one loop; tests open
several), connections closed after a while unused, nothing reset on release (neither opens a
transaction or sets anything, and asyncpg's default reset is a round trip per release).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine


class EngineClosed(Exception):
    """The engine the pool belongs to was closed."""


@dataclass(frozen=True)
class _Opened:
    loop: asyncio.AbstractEventLoop
    pool: asyncpg.Pool


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Nothing to undo on release."""


class SidePool:
    """Up to `max_size` connections to `engine`'s server, shown as `application_name`."""

    def __init__(
        self,
        engine: AsyncEngine,
        server_settings: dict[str, str],
        application_name: str,
        max_size: int,
        idle_seconds: float,
    ) -> None:
        # weakly: registries are keyed by the engine, and a value holding its key would keep an
        # engine never disposed alive for good
        self._engine = weakref.ref(engine)
        self._server_settings = {**server_settings, "application_name": application_name}
        self._max_size = max_size
        self._idle_seconds = idle_seconds
        self._opened: _Opened | None = None
        self._opening = asyncio.Lock()

    def engine(self) -> AsyncEngine:
        engine = self._engine()
        if engine is None:
            raise EngineClosed("the engine was closed")
        return engine

    def report(self, sql: str, values: tuple[object, ...]) -> None:
        """Tell the engine's statement listeners (access log, tests' counts) of a statement sent
        on this pool, as SQLAlchemy tells them of its own."""
        sync = self.engine().sync_engine
        sync.dispatch.before_cursor_execute(None, None, sql, values, None, False)

    async def connections(self) -> asyncpg.Pool:
        """The pool of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._opened is not None and self._opened.loop is loop:
            return self._opened.pool
        async with self._opening:
            if self._opened is None or self._opened.loop is not loop:
                engine = self.engine()
                args, kwargs = engine.dialect.create_connect_args(engine.url)
                pool = await asyncpg.create_pool(
                    *args,
                    **kwargs,
                    server_settings=self._server_settings,
                    min_size=0,
                    max_size=self._max_size,
                    max_inactive_connection_lifetime=self._idle_seconds,
                    reset=_no_reset,
                )
                self._opened = _Opened(loop, pool)
            return self._opened.pool

    async def close(self) -> None:
        if self._opened is not None:
            pool, self._opened = self._opened.pool, None
            await pool.close()
