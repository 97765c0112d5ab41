"""Shared fixtures: small generated demo databases and a GraphQL runner that counts statements
(transaction control and pings included: `tests/wire.py`)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import Context, Options
from resolvers.viewer import Role, Viewer
from schema import build_schema
from tests.databases import drop_created_databases, fresh_database
from tests.helpers import app_client, rows
from tests.wire import watch_transactions
from warehouse.demo import build_demo
from warehouse.engine import create_engine, sync_engines

DEMO_END = date(2026, 3, 29)  # Europe/London's spring-forward day is inside the demo range
# what `make run` builds, at a fixed moment: a demo ending "now", a Friday morning, mid-traffic
DEMO_NOW = datetime(2026, 3, 27, 10, 40, tzinfo=UTC)
SCHEMA = build_schema()


@dataclass
class Gateway:
    """Runs GraphQL documents against one database and counts the SQL statements they cost."""

    engine: AsyncEngine
    options: Options = field(default_factory=Options)
    viewer: Viewer = field(default_factory=Viewer.system)
    statements: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            self.statements.append(statement)

        for target in sync_engines(self.engine):  # SQLite reads run on a thread reader
            event.listen(target, "before_cursor_execute", _count)
            watch_transactions(target, self.statements.append)  # BEGIN, ROLLBACK, pings too

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The raw execution result (data and errors)."""
        context = Context(engine=self.engine, options=self.options, viewer=self.viewer)
        result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
        await asyncio.sleep(0)  # asyncpg reports what it sent on the next turn of the loop
        return result

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a query that must succeed."""
        result = await self.execute(query, variables)
        assert result.errors is None, [e.formatted for e in result.errors]
        return json.loads(json.dumps(result.data, default=str))  # type: ignore[no-any-return]

    async def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        """The error messages of a query that must fail."""
        result = await self.execute(query, variables)
        assert result.errors, "expected errors"
        return [e.message for e in result.errors]

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """Collect the statements run inside the block."""
        start = len(self.statements)
        collected: list[str] = []
        yield collected
        collected.extend(self.statements[start:])


async def _demo(
    path: Path, segments: int, seed: int, tz: str = "UTC", days: int = 4
) -> AsyncEngine:
    engine = create_engine(await fresh_database(path.parent, path.stem))
    await build_demo(engine, segments=segments, seed=seed, days=days, end=DEMO_END, tz=ZoneInfo(tz))
    return engine


@pytest.fixture(scope="session", autouse=True)
async def _drop_server_databases() -> AsyncIterator[None]:
    """On PostgreSQL, drop the session's databases once every engine is disposed."""
    yield
    await drop_created_databases()


@pytest.fixture(scope="session")
async def small_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    engine = await _demo(tmp_path_factory.mktemp("db") / "small.db", 2_000, seed=7)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def large_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    engine = await _demo(tmp_path_factory.mktemp("db") / "large.db", 8_000, seed=11)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(small_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway over in-process HTTP with authentication off, for tests not about auth."""
    async with app_client(small_engine, auth="off") as c:
        yield c


@pytest.fixture(scope="session")
def gw(small_engine: AsyncEngine) -> Gateway:
    return Gateway(small_engine)


@pytest.fixture(scope="session")
def gw_large(large_engine: AsyncEngine) -> Gateway:
    return Gateway(large_engine)


@dataclass
class NowDemo:
    """A demo ending at `DEMO_NOW`, with its traffic as TaskRouter event lines."""

    engine: AsyncEngine
    lines: list[str]

    def gateway(self) -> Gateway:
        """A runner whose clock reads `DEMO_NOW` (the live view looks at the demo's now)."""
        return Gateway(self.engine, Options(clock=DEMO_NOW.timestamp))


@pytest.fixture(scope="session")
async def now_demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NowDemo]:
    engine = create_engine(await fresh_database(tmp_path_factory.mktemp("db"), "now"))
    stream = io.StringIO()
    await build_demo(
        engine, segments=3000, seed=7, days=2, end=DEMO_NOW, tz=ZoneInfo("UTC"),
        events_out=stream,
    )  # fmt: skip
    yield NowDemo(engine, stream.getvalue().splitlines())
    await engine.dispose()


@dataclass
class Viewers:
    admin: Viewer
    supervisor: Viewer
    agent: Viewer


@pytest.fixture(scope="module")
async def viewers(small_engine: AsyncEngine) -> Viewers:
    """An admin, and a supervisor and an agent of the same busy team."""
    (busy,) = await rows(
        small_engine,
        "SELECT agent_id, team_id FROM agents WHERE team_id IS NOT NULL ORDER BY agent_id LIMIT 1",
    )
    return Viewers(
        Viewer.system(),
        Viewer(Role.SUPERVISOR, "sup", team_ids=frozenset({busy["team_id"]})),
        Viewer(Role.AGENT, "agent", agent_id=busy["agent_id"]),
    )
