"""One-value reads past SQLAlchemy on PostgreSQL: a statement compiled once, run on asyncpg's pool.

A document answered whole (`schema/whole_answers.py`) is one SELECT whose text is the response.
Through SQLAlchemy that read costs about 0.25 ms of Python around a round trip of about the same:
the pool's checkout and return, the isolation switch, the execution context, the result object.
The statement is compiled once when its document is learned, so each request only sends the SQL
text and its values on a connection of a small asyncpg pool of the engine's own: about 0.25 ms
in all. Same server, same credentials and server settings (the statement timeout), no
transaction (a SELECT in autocommit, as the engine's reads run).

The statement is reported to the engine's `before_cursor_execute` listeners as any other, so
statement counts (the access log's, the tests') see it. SQLite keeps SQLAlchemy's path: its reads
already run whole in one thread hop (`thread_reader`), or none (`warehouse/inline_reads.py`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.side_pools import EngineClosed, SidePool

# what the direct pool's connections show in `pg_stat_activity`
APPLICATION_NAME = "insights-gateway direct reads"
# connections of the direct pool close after this long unused: a worker that stops getting
# whole answers gives them back to the server
IDLE_SECONDS = 10.0


# what a direct read can meet: the server's refusal, a connection gone or in a bad state
_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


class DirectReadError(Exception):
    """The direct read failed (the server refused the statement, or the connection broke)."""


@dataclass(frozen=True)
class CompiledRead:
    """A statement as the driver takes it: SQL text and its values in order, those of the
    request's bound variables (`schema/variable_binds.py`) taken from each read's own."""

    sql: str
    values: tuple[Any, ...]
    bound: tuple[tuple[int, str, Callable[[Any], Any] | None], ...] = ()
    """(position, bind name, SQLAlchemy's conversion of its value or None) of each bound value."""

    def values_for(self, bound_values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The statement's values with this read's bound ones."""
        if not self.bound:
            return self.values
        values = list(self.values)
        for position, name, convert in self.bound:
            value = bound_values[name]
            values[position] = value if convert is None else convert(value)
        return tuple(values)


def compile_read(
    engine: AsyncEngine, statement: Any, bound_values: Mapping[str, Any] | None = None
) -> CompiledRead | None:
    """The statement compiled for a direct read (its values converted as SQLAlchemy would), or
    None where the engine has none (SQLite). `bound_values` name the binds given per read."""
    dialect = engine.dialect
    if dialect.driver != "asyncpg":
        return None
    bound_values = bound_values or {}
    compiled = statement.compile(dialect=dialect)
    # the SQL with its post-compile parameters (expanded `IN` lists) rendered
    state = compiled.construct_expanded_state(dict(bound_values))
    if state.positiontup is None:
        return None
    values = []
    bound = []
    for position, name in enumerate(state.positiontup):
        convert = state.processors.get(name)  # an expanded parameter's, else its bind's
        bind = compiled.binds.get(name)
        if convert is None and bind is not None:
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        value = state.parameters[name]
        if name in bound_values:
            bound.append((position, name, convert))
        values.append(value if convert is None else convert(value))
    return CompiledRead(state.statement, tuple(values), tuple(bound))


class DirectReader:
    """The engine's asyncpg pool (as many connections as the engine's own), for direct reads."""

    def __init__(self, engine: AsyncEngine, server_settings: dict[str, str]) -> None:
        size = engine.pool.size()  # type: ignore[attr-defined]
        self._pool = SidePool(engine, server_settings, APPLICATION_NAME, size, IDLE_SECONDS)

    async def value(self, read: CompiledRead, bound_values: Mapping[str, Any] | None = None) -> Any:
        """The one value the statement answers, with this read's bound values."""
        values = read.values_for(bound_values or {})
        try:
            self._pool.report(read.sql, values)  # only its own engine reads through it
        except EngineClosed as error:
            raise DirectReadError(str(error)) from error
        try:
            pool = await self._pool.connections()
            async with pool.acquire() as connection:
                try:
                    return await connection.fetchval(read.sql, *values)
                except _FAILURES:
                    connection.terminate()  # the pool opens a new one, not this maybe-broken one
                    raise
        except _FAILURES as error:
            raise DirectReadError(f"{type(error).__name__}: {error}") from error

    async def close(self) -> None:
        await self._pool.close()


_READERS: weakref.WeakKeyDictionary[AsyncEngine, DirectReader] = weakref.WeakKeyDictionary()


def register(engine: AsyncEngine, server_settings: dict[str, str]) -> None:
    """Give a PostgreSQL (asyncpg) engine its direct reader, with the engine's server settings."""
    _READERS[engine] = DirectReader(engine, server_settings)


def direct_reader(engine: AsyncEngine) -> DirectReader | None:
    """The engine's direct reader; None for engines without one (SQLite)."""
    return _READERS.get(engine)


async def close(engine: AsyncEngine) -> None:
    """Close the engine's direct pool, if it has one."""
    reader = _READERS.pop(engine, None)
    if reader is not None:
        await reader.close()
