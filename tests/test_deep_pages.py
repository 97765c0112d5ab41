"""A page deep in the rows starts reading at its cursor: its first sort key is an index range.

The seek condition `(k1 < v1) OR (k1 = v1 AND k2 > v2)` alone is no range an index serves: the
database read every row before the cursor to find the page (on the million-segment demo, page
200 of the latest conversations took 3.6 ms against 1.1 ms for the first). The redundant bound
`k1 <= v1` is one, also when `k1` may be null (each NULL group of the page is read apart and
knows its rows' flag). Checked on the plan each engine makes of a root page's statement: SQLite
finds the range in the OR itself once the NULL flag is gone, PostgreSQL needs the bound.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.entities import ENTITIES
from resolvers.pages import _page_statement
from resolvers.pagination import OrderSpec, Seek
from tests.helpers import rows

CONVERSATION = ENTITIES["Conversation"]


async def plan(engine: AsyncEngine, statement: Any) -> str:
    """The engine's plan of `statement`, its values written in."""
    sql = str(statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL enable_seqscan = off"))  # a small table
            found = await conn.execute(text(f"EXPLAIN {sql}"))
        else:
            found = await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(str(row[-1]) for row in found)


@pytest.mark.parametrize(
    ("descending", "after"),
    [(True, True), (False, False)],  # both read towards earlier starts: an upper bound
    ids=["latest first, after", "earliest first, before"],
)
async def test_a_deep_page_reads_from_its_cursor_on(
    small_engine: AsyncEngine, descending: bool, after: bool
) -> None:
    order: OrderSpec = (("started_at", descending),)
    (deep,) = await rows(
        small_engine,
        "SELECT conversation_id, started_at FROM conversations WHERE started_at IS NOT NULL "
        "ORDER BY started_at, conversation_id LIMIT 1 OFFSET 300",
    )
    values = [deep["started_at"], deep["conversation_id"]]  # as a cursor decodes (seconds)
    seek = Seek(values) if after else Seek(None, values)
    columns = [CONVERSATION.table.c.conversation_id, CONVERSATION.table.c.started_at]
    statement = _page_statement(
        CONVERSATION, columns, [], order, not after, limit=20, seeks=seek.seeks
    )
    found = await plan(small_engine, statement)
    if small_engine.dialect.name == "postgresql":
        assert "started_at <=" in found, found
    else:
        assert "started_at<?" in found, found
