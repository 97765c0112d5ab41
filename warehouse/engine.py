"""Async engine factory: SQLite (WAL, busy timeout) by default, PostgreSQL by URL.

On a server every round trip counts: connections are not pinged at checkout (a read that meets a
connection the server dropped is retried once instead, `read`), and plain reads run in autocommit
(no BEGIN/ROLLBACK around a SELECT).
"""

from __future__ import annotations

import base64
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from warehouse import direct_reads
from warehouse.aggregate_slots import close_slots, register_slots

T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


BASE64 = "insights_base64"
"""SQL function on SQLite connections: base64 of a text's UTF-8 (PostgreSQL has `encode`)."""


def _base64(value: str | None) -> str | None:
    return None if value is None else base64.b64encode(value.encode()).decode("ascii")


FLOAT_TEXT = "insights_float_text"
"""SQL function on SQLite connections: a number as Python's JSON writes it (`repr`), for cursors;
SQLite's printf rounds the 16th and 17th digits its own way (PostgreSQL's output is exact)."""


def _float_text(value: float | None) -> str | None:
    return None if value is None else repr(float(value))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # global ids and cursors in rows the database answers as JSON (resolvers/json_rows.py)
    dbapi_connection.create_function(BASE64, 1, _base64, deterministic=True)
    dbapi_connection.create_function(FLOAT_TEXT, 1, _float_text, deterministic=True)


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int = 10,
    statement_timeout_ms: int = 0,
    aggregate_slots: int = 0,
) -> AsyncEngine:
    """Create the engine for `url`; SQLite connections get WAL, a busy timeout and foreign keys.

    On a server (PostgreSQL) the pool keeps `pool_size` connections per process and opens up to
    `max_overflow` more under bursts (a request's loaders run concurrently, each on its own
    connection); `statement_timeout_ms` (0: none) makes the server cancel a runaway statement;
    `aggregate_slots` (0: none) limits the metric and report statements running at once on the
    database, across every process (`warehouse/aggregate_slots.py`).
    """
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if statement_timeout_ms > 0 and url.startswith("postgresql+asyncpg"):
        connect_args["server_settings"] = {"statement_timeout": str(statement_timeout_ms)}
    # no pool_pre_ping: it costs a round trip per checkout; `read` retries a dropped connection
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
    )
    if engine.dialect.driver == "asyncpg":
        direct_reads.register(engine, connect_args.get("server_settings", {}))
        register_slots(engine, aggregate_slots, connect_args.get("server_settings", {}))
    return engine


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for plain reads: in autocommit on a server, so a SELECT is one round
    trip, not BEGIN, SELECT, ROLLBACK. Setting it costs nothing on asyncpg (the driver only
    skips its BEGIN); the pool restores the default level when the connection returns.
    """
    async with engine.connect() as conn:
        if engine.dialect.name != "sqlite":  # pysqlite never opens a transaction for a SELECT
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


async def read(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """`work(connection)` on a read connection, retried once on a fresh connection when the first
    was dropped by the server (restart, failover, idle timeout, `pg_terminate_backend`).

    Reads are idempotent, so the retry is safe; the failure invalidates the pool's older
    connections too, so the retry does not meet another dead one. This replaces a pre-ping on
    every checkout. Other errors, and a second disconnect, propagate.
    """
    try:
        async with read_connection(engine) as conn:
            return await work(conn)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    async with read_connection(engine) as conn:
        return await work(conn)


async def create_tables(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (creating every table of an empty database)."""
    from warehouse.migrate import upgrade

    await upgrade(engine)


_THREAD_READERS: weakref.WeakKeyDictionary[AsyncEngine, Engine | None] = weakref.WeakKeyDictionary()


def thread_reader(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file, for reads run whole in one worker thread.

    aiosqlite hops to its thread and back for every call (connect, execute, fetch, rollback):
    ~0.6 ms per statement against ~0.1 ms for one hop that does it all, and a nested page runs
    four statements. None for other databases (asyncpg is natively async) and for in-memory
    SQLite, which a second engine would not see.
    """
    if engine in _THREAD_READERS:
        return _THREAD_READERS[engine]
    url = engine.url
    reader = None
    in_memory = url.database in (None, "", ":memory:") or "memory" in str(url.query.get("mode"))
    if url.get_backend_name() == "sqlite" and not in_memory:
        reader = create_sync_engine(
            url.set(drivername="sqlite+pysqlite"), connect_args={"timeout": 30}
        )
        event.listen(reader, "connect", _sqlite_pragmas)
    _THREAD_READERS[engine] = reader
    return reader


def sync_engines(engine: AsyncEngine) -> list[Engine]:
    """Every engine statements of `engine`'s warehouse run on (to observe them all)."""
    reader = thread_reader(engine)
    return [engine.sync_engine] if reader is None else [engine.sync_engine, reader]


async def dispose(engine: AsyncEngine) -> None:
    """Close the pools of `engine` and of its thread or direct reader."""
    reader = _THREAD_READERS.pop(engine, None)
    if reader is not None:
        reader.dispose()
    await direct_reads.close(engine)
    await close_slots(engine)
    await engine.dispose()
