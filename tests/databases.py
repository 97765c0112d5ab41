"""Where the test databases live: SQLite files by default, PostgreSQL when a server is given.

`INSIGHTS_TEST_DATABASE_URL` names a PostgreSQL server (`postgresql+asyncpg://user@host/db`, any
existing database to connect to); each demo database then gets a fresh database of its own on that
server, dropped at the end of the session. Unset, every demo database is a SQLite file.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

SERVER_URL = os.environ.get("INSIGHTS_TEST_DATABASE_URL", "").strip()
_created: list[str] = []


def engine_name() -> str:
    """`postgresql` or `sqlite`: what the suite runs on (for the few engine-specific checks)."""
    return make_url(SERVER_URL).get_backend_name() if SERVER_URL else "sqlite"


async def fresh_database(directory: Path, name: str) -> str:
    """The URL of a new, empty database called after `name`."""
    if not SERVER_URL:
        return f"sqlite+aiosqlite:///{directory / name}.db"
    database = f"insights_test_{name}_{uuid.uuid4().hex[:8]}".lower()
    await _admin(f'CREATE DATABASE "{database}"')
    _created.append(database)
    return make_url(SERVER_URL).set(database=database).render_as_string(hide_password=False)


async def drop_created_databases() -> None:
    """Drop every database `fresh_database` made on the server (their engines are disposed)."""
    while _created:
        await _admin(f'DROP DATABASE IF EXISTS "{_created.pop()}" WITH (FORCE)')


async def _admin(statement: str) -> None:
    engine = create_async_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
