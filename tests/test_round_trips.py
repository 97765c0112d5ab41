"""One round trip per statement: reads send no BEGIN/ROLLBACK and no pre-ping, and a connection
the server dropped is retried once instead of pinged on every checkout."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import Gateway
from tests.databases import SERVER_URL, engine_name
from tests.wire import watch_transactions
from warehouse.engine import create_engine, read, thread_reader

NESTED = """{ conversations(first: 20) { nodes { conversationId
    segments(first: 5) { nodes { segmentId agent { fullName team { name } } } } } } }"""


async def test_the_counter_sees_transaction_control(small_engine: AsyncEngine) -> None:
    """Guards the counts below: a transaction that does reach the driver is counted."""
    seen: list[str] = []
    reader = thread_reader(small_engine)
    if reader is not None:  # SQLite file: reads run here; DML makes sqlite3 open a transaction
        watch_transactions(reader, seen.append)
        with reader.begin() as conn:
            conn.execute(text("UPDATE teams SET name = name WHERE 0 = 1"))
    else:
        watch_transactions(small_engine.sync_engine, seen.append)
        async with small_engine.begin() as conn:  # on asyncpg `begin` is lazy: the SELECT opens it
            await conn.execute(text("SELECT 1"))
        async with small_engine.begin() as conn:  # the listener hooks at checkout: now it sees
            await conn.execute(text("SELECT 1"))
    words = [sql.split()[0].rstrip(";").upper() for sql in seen]
    assert words[-2:] == ["BEGIN", "COMMIT"], seen


async def test_reads_send_select_statements_and_nothing_else(gw: Gateway) -> None:
    for _ in range(3):  # pooled connections come back: a pre-ping would show from the second on
        with gw.counting() as statements:
            await gw.query(NESTED)
        assert len(statements) == 1, statements  # the page, its segments, agents, teams inside
        assert all(s.lstrip().upper().startswith(("SELECT", "WITH")) for s in statements)


def _invalidated() -> DBAPIError:
    return DBAPIError("SELECT 1", None, ConnectionError("gone"), connection_invalidated=True)


async def test_read_retries_a_dropped_connection_once(small_engine: AsyncEngine) -> None:
    calls: list[int] = []

    async def flaky(conn: AsyncConnection) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise _invalidated()
        return int((await conn.execute(text("SELECT 7"))).scalar_one())

    assert await read(small_engine, flaky) == 7
    assert len(calls) == 2


async def test_read_gives_up_after_the_retry_and_never_retries_other_errors(
    small_engine: AsyncEngine,
) -> None:
    calls: list[int] = []

    async def always_dropped(_: AsyncConnection) -> None:
        calls.append(1)
        raise _invalidated()

    with pytest.raises(DBAPIError):
        await read(small_engine, always_dropped)
    assert len(calls) == 2

    async def bad_sql(conn: AsyncConnection) -> None:
        calls.append(1)
        await conn.execute(text("SELECT no_such_column FROM teams"))

    calls.clear()
    with pytest.raises(DBAPIError) as raised:
        await read(small_engine, bad_sql)
    assert not raised.value.connection_invalidated
    assert len(calls) == 1
    assert isinstance(raised.value, ProgrammingError) or engine_name() == "sqlite"


@pytest.fixture
async def one_connection(small_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """A second engine on the small demo with a pool of exactly one connection."""
    engine = create_engine(
        small_engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0
    )
    yield engine
    await engine.dispose()


@pytest.mark.skipif(engine_name() != "postgresql", reason="needs a server connection to kill")
async def test_the_request_after_the_server_killed_its_connection_succeeds(
    one_connection: AsyncEngine,
) -> None:
    gw = Gateway(one_connection)
    before = await gw.query(NESTED)
    async with one_connection.connect() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    admin = create_engine(SERVER_URL)
    try:
        async with admin.connect() as conn:
            killed = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert killed.scalar_one() is True
    finally:
        await admin.dispose()

    with gw.counting() as statements:
        after = await gw.query(NESTED)
    assert after == before
    # the page failed on the dead connection and ran again on a fresh one; nothing else was sent
    assert all(s.lstrip().upper().startswith(("SELECT", "WITH")) for s in statements), statements
    async with one_connection.connect() as conn:
        assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
