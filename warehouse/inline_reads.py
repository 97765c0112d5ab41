"""Short SQLite reads on the event loop's own thread: no hop to a worker thread and back.

SQLite reads run in worker threads (`thread_reader`, `resolvers/cancel.py`) so that a long one
never stops the event loop. For a read that takes a fraction of a millisecond the hop costs more
than the read: the thread must be woken and get a core and the GIL, then the loop must be woken
again, and on a loaded machine each of these waits reached 4-5 ms at the 99th percentile (a
worker's reads timed under `bench/load.py`'s mix). A document answered whole
(`schema/whole_answers.py`) whose statement is known to be that short runs here instead, on the
same pool's connections (its `before_cursor_execute` listeners see it as any other statement).
Taking one never waits: the pool holds 15 connections (SQLAlchemy's default size and overflow),
more than the 12 read threads of `resolvers/cancel.py` and the loop's one read at a time.

It cannot hold the loop for long whatever the data has become: SQLite calls a progress handler
every few thousand virtual-machine steps, and past `DEADLINE_SECONDS` the handler interrupts the
statement (`ReadTooLong`); the caller runs it in a worker thread then.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

# a statement that ran this long or less (in its thread, or here) runs here next time
SHORT_SECONDS = 0.002
# the longest a statement may hold the event loop before it is interrupted
DEADLINE_SECONDS = 0.02
# SQLite virtual-machine instructions between two calls of the progress handler (microseconds)
_STEPS = 2000


class ReadTooLong(Exception):
    """The statement ran past `DEADLINE_SECONDS` on the event loop and was interrupted."""


def scalar_inline(
    engine: Engine, statement: Any, params: dict[str, Any] | None = None
) -> tuple[Any, float]:
    """The one value of `statement` (with `params`) read on this thread, and the seconds the
    read took."""
    with engine.connect() as conn:
        sqlite: Any = conn.connection.driver_connection
        started = time.perf_counter()
        deadline = started + DEADLINE_SECONDS
        late: list[bool] = []

        def past_deadline() -> bool:
            if time.perf_counter() > deadline:
                late.append(True)
                return True  # SQLite interrupts the statement
            return False

        sqlite.set_progress_handler(past_deadline, _STEPS)
        try:
            value = conn.execute(statement, params).scalar_one()
        except OperationalError as error:
            if late:
                raise ReadTooLong from error
            raise
        finally:
            sqlite.set_progress_handler(None, _STEPS)
        return value, time.perf_counter() - started


def scalar_timed(
    conn: Any, statement: Any, params: dict[str, Any] | None = None
) -> tuple[Any, float]:
    """The one value of `statement` (with `params`) on `conn` (in a worker thread), and the
    seconds it took."""
    started = time.perf_counter()
    value = conn.execute(statement, params).scalar_one()
    return value, time.perf_counter() - started
