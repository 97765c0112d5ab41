"""Round trips per request on a server database: the gateway now vs. as it ran before, one run.

Two copies of the app on the same database, called in-process (`POST /graphql` with an API key,
no socket) in alternating rounds, answers checked equal first:

- `now`: as shipped: reads in autocommit, no pre-ping at checkout, verified keys cached.
- `before`: the pool pings each connection at checkout, every read runs between BEGIN and
  ROLLBACK (this script swaps `warehouse.engine.read_connection` for a plain `connect()` while
  it calls this copy), and the API key is looked up on every request.

Prints per query the median and p90 latency, the ratio to `before`, and how many statements each
request sent to the database (cursor statements plus BEGIN/COMMIT/ROLLBACK and pings, counted at
the driver as the tests count them).

    python bench/round_trip_bench.py --database postgresql+asyncpg://user@host/db [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

import warehouse.engine
from gateway.app import create_app
from gateway.settings import Settings
from tests.wire import watch_transactions
from warehouse.api_keys import create_key, revoke_key

QUERIES = {
    "nested page": """{ conversations(first: 50, orderBy: [{field: STARTED_AT, direction: DESC}]) {
        nodes { conversationId segments(first: 20) { nodes { segmentId
          agent { fullName team { name } } customer { name } } } } } }""",
    "100 agents": """{ agents(first: 100) { nodes { agentId fullName
        team { name department { name } } } } }""",
}
PLAIN_READ = warehouse.engine.read_connection


@asynccontextmanager
async def transactional_read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """How reads ran before: SQLAlchemy's default, a transaction around every SELECT."""
    async with engine.connect() as conn:
        yield conn


class Way:
    """One copy of the app, its engine and the statements its requests sent."""

    def __init__(self, name: str, engine: AsyncEngine, settings: Settings) -> None:
        self.name = name
        self.engine = engine
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(settings, engine=engine)),
            base_url="http://bench",
        )
        self.sent: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._cursor)
        watch_transactions(engine.sync_engine, self.sent.append)
        self.token = ""

    def _cursor(self, _c: Any, _cu: Any, statement: str, *_: Any) -> None:
        self.sent.append(statement)

    async def ask(self, query: str) -> Any:
        read_connection = PLAIN_READ if self.name == "now" else transactional_read
        warehouse.engine.read_connection = read_connection  # type: ignore[assignment]
        try:
            response = await self.client.post(
                "/graphql",
                json={"query": query},
                headers={"authorization": f"Bearer {self.token}"},
            )
        finally:
            warehouse.engine.read_connection = PLAIN_READ  # type: ignore[assignment]
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        await asyncio.sleep(0)  # asyncpg reports what it sent on the next turn of the loop
        return body


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="postgresql+asyncpg://… with the demo")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    settings = Settings(database_url=args.database, graphiql=False, auth="on")
    now_engine = warehouse.engine.create_engine(args.database, **settings.engine_options())
    before_engine = create_async_engine(
        args.database, pool_pre_ping=True, pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )  # fmt: skip
    ways = [
        Way("before", before_engine, settings.model_copy(update={"auth_cache_seconds": 0})),
        Way("now", now_engine, settings),
    ]
    key, token = await create_key(now_engine, "admin", label="bench/round_trip_bench.py")
    try:
        for way in ways:
            way.token = token
        print(
            f"{'query':<12} {'way':<7} {'p50 ms':>8} {'p90 ms':>8} {'statements':>10} {'p50 ratio':>9}"
        )
        for name, query in QUERIES.items():
            answers = [await way.ask(query) for way in ways]
            assert answers[0] == answers[1], f"{name}: the two ways disagree"
            for way in ways:  # warm pools, caches and prepared statements
                for _ in range(10):
                    await way.ask(query)
            times: dict[str, list[float]] = {way.name: [] for way in ways}
            sent: dict[str, int] = {}
            for round_ in range(args.rounds):
                for way in ways if round_ % 2 else reversed(ways):
                    start = len(way.sent)
                    times[way.name].append(await timed(partial(way.ask, query)))
                    sent[way.name] = len(way.sent) - start
            reference = statistics.median(times["before"])
            for way in ways:
                samples = times[way.name]
                median = statistics.median(samples)
                p90 = statistics.quantiles(samples, n=10)[-1]
                print(
                    f"{name:<12} {way.name:<7} {median * 1000:>8.2f} {p90 * 1000:>8.2f}"
                    f" {sent[way.name]:>10} {median / reference:>8.2f}x"
                )
    finally:
        await revoke_key(now_engine, key.key_id)
        for way in ways:
            await way.client.aclose()
            await way.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
