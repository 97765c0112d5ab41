"""What a connection sends besides the statements SQLAlchemy executes: BEGIN, COMMIT, ROLLBACK and
pings, seen at the driver, so that statement counts include every round trip.

`before_cursor_execute` sees only cursor statements; SQLAlchemy's `begin`/`rollback` events fire
even when the driver sends nothing (autocommit), so neither tells what reached the database.
asyncpg reports what it sends outside prepared statements through its query loggers (called
soon after, on the event loop: yield once before reading the count); SQLite's trace callback
reports every statement it runs, of which we keep the transaction control. Writes through
aiosqlite are not watched (its connection lives in a thread of its own); reads on SQLite files
run on the thread reader, which is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

WATCHERS = "wire_watchers"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _hook(driver: Any, watchers: list[Callable[[str], None]]) -> None:
    def tell(sql: str) -> None:
        for watcher in watchers:
            watcher(sql)

    if type(driver).__module__.startswith("asyncpg"):
        driver.add_query_logger(lambda logged: tell(logged.query))
    elif isinstance(driver, sqlite3.Connection):

        def traced(sql: str) -> None:
            if sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
                tell(sql)

        driver.set_trace_callback(traced)


def watch_transactions(engine: Engine, record: Callable[[str], None]) -> None:
    """Call `record(sql)` for each statement the driver sends outside cursor executions
    (transaction control, pings) on connections of `engine`, from their next checkout on."""

    def on_checkout(_dbapi: Any, connection_record: Any, _proxy: Any) -> None:
        watchers = connection_record.info.get(WATCHERS)
        if watchers is None:
            watchers = connection_record.info[WATCHERS] = []
            _hook(connection_record.driver_connection, watchers)
        if record not in watchers:
            watchers.append(record)

    event.listen(engine, "checkout", on_checkout)
