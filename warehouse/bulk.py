"""Bulk writes that work the same on SQLite and PostgreSQL: insert-or-ignore, upserts, chunks.

Both dialects have `INSERT ... ON CONFLICT`, but SQLAlchemy spells it per dialect; the ingest
calls these instead of choosing a dialect at every write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.ext.asyncio import AsyncConnection

Row = dict[str, Any]
CHUNK = 500  # keys per IN (...) list: well under every driver's parameter limit


def insert_for(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT on both SQLite and PostgreSQL."""
    return _insert(conn.dialect.name, table)


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


# The statements below are built once per dialect and table and then reused: building one (its
# `excluded` alias of every column) cost more than running it, at one small batch per request.


@cache
def _insert_ignore(dialect: str, table: Table) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing()


@cache
def _upsert(dialect: str, table: Table) -> Any:
    stmt = _insert(dialect, table)
    keys = [c.name for c in table.primary_key.columns]
    columns = [c.name for c in table.columns if c.name not in keys]
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c: func.coalesce(stmt.excluded[c], table.c[c]) for c in columns},
    )


@cache
def _replace(dialect: str, table: Table) -> Any:
    stmt = _insert(dialect, table)
    keys = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )


async def insert_ignore(conn: AsyncConnection, table: Table, rows: Sequence[Row]) -> None:
    """Insert rows, skipping those whose key is already stored (re-deliveries, concurrent runs)."""
    if rows:
        await conn.execute(_insert_ignore(conn.dialect.name, table), list(rows))


async def upsert(conn: AsyncConnection, table: Table, rows: Iterable[Row]) -> None:
    """Insert or update by primary key; a value the new row lacks keeps the stored one."""
    by_key = {tuple(r[c.name] for c in table.primary_key.columns): r for r in rows}
    if not by_key:
        return
    await conn.execute(_upsert(conn.dialect.name, table), list(by_key.values()))


def chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    """`items` in lists of `CHUNK`, for IN (...) lists and bounded executemany calls."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def replace(conn: AsyncConnection, table: Table, rows: list[Row]) -> None:
    """Insert or overwrite whole rows by primary key (agents take their latest attributes)."""
    if not rows:
        return
    await conn.execute(_replace(conn.dialect.name, table), rows)
