"""Async engine factory: SQLite (WAL, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int = 10,
    statement_timeout_ms: int = 0,
) -> AsyncEngine:
    """Create the engine for `url`; SQLite connections get WAL, a busy timeout and foreign keys.

    On a server (PostgreSQL) the pool keeps `pool_size` connections per process and opens up to
    `max_overflow` more under bursts (a request's loaders run concurrently, each on its own
    connection); `statement_timeout_ms` (0: none) makes the server cancel a runaway statement.
    """
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    connect_args: dict[str, Any] = {}
    if statement_timeout_ms > 0 and url.startswith("postgresql+asyncpg"):
        connect_args["server_settings"] = {"statement_timeout": str(statement_timeout_ms)}
    return create_async_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
    )


async def create_tables(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (creating every table of an empty database)."""
    from warehouse.migrate import upgrade

    await upgrade(engine)
