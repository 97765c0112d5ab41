"""The one place where SQLite and PostgreSQL differ, so callers never branch on the engine.

Most SQL here is written once for both: instants are epoch seconds (time buckets are integer
arithmetic, see `resolvers/metrics/timebuckets.py`), distinct counts are `count(DISTINCT …)`.
What remains engine-specific lives below: the dialect's `INSERT … ON CONFLICT` for upserts, and
the helpers that tell engines apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, distinct, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert


def is_sqlite_url(url: str) -> bool:
    """Whether a database URL names SQLite (the embedded default) rather than a server."""
    return url.startswith("sqlite")


def dialect_name(bind: AsyncEngine | AsyncConnection | Connection) -> str:
    """`sqlite` or `postgresql`."""
    return bind.dialect.name


def count_distinct(value: ColumnElement[Any]) -> ColumnElement[int]:
    """`count(DISTINCT value)`, NULLs not counted: the same on both engines."""
    return func.count(distinct(value))


def upsert(
    name: str, table: Table, keys: Sequence[str], update: Sequence[str] | None = None
) -> Insert:
    """`INSERT … ON CONFLICT (keys) DO UPDATE` (or `DO NOTHING` when `update` is empty).

    `name` is the dialect name (`dialect_name(conn)`); `update` lists the columns a conflicting
    row takes from the new one, every non-key column by default. Execute it with a list of rows.
    """
    insert = postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
    columns = [c.name for c in table.columns if c.name not in keys] if update is None else update
    if not columns:
        return insert.on_conflict_do_nothing(index_elements=list(keys))
    return insert.on_conflict_do_update(
        index_elements=list(keys), set_={c: insert.excluded[c] for c in columns}
    )
