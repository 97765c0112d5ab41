"""Helpers for the ingest tests: load event lines into a fresh warehouse, read it back via GraphQL."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import Options
from tests.conftest import Gateway
from tests.databases import fresh_database
from warehouse.engine import create_engine, create_tables
from warehouse.ingest import IngestCounts, Ingestor, read_lines

UTC_ZONE = ZoneInfo("UTC")
WIDE = Options(default_page_size=100_000, max_page_size=100_000)


async def fresh_engine(path: Path) -> AsyncEngine:
    """A new, migrated database: a SQLite file beside `path`, or one on the test server."""
    engine = create_engine(await fresh_database(path.parent, path.stem))
    await create_tables(engine)
    return engine


async def ingest_lines(
    engine: AsyncEngine, lines: Iterable[str], *, batch_size: int = 500, source: str = "test"
) -> IngestCounts:
    total = IngestCounts()
    async for counts in Ingestor(engine, UTC_ZONE, batch_size).ingest(read_lines(lines, source)):
        total.add(counts)
    return total


async def scalar_fields(gw: Gateway, type_name: str) -> list[str]:
    """The type's fields that are scalars or enums (through non-null wrappers), without args."""
    data = await gw.query(
        """query($name: String!) { __type(name: $name) { fields { name args { name }
           type { kind ofType { kind } } } } }""",
        {"name": type_name},
    )
    found = []
    for f in data["__type"]["fields"]:
        kind = f["type"]["kind"]
        if kind == "NON_NULL":
            kind = f["type"]["ofType"]["kind"]
        if kind in ("SCALAR", "ENUM") and not f["args"] and f["name"] != "id":
            found.append(f["name"])
    return found


LINKS = {
    "segments": "agent { agentId } handlingTeam { teamId } handlingDepartment { departmentId } "
    "customer { customerId } conversation { conversationId } precededBy { segmentId }",
    "conversations": "customer { customerId } case { name } "
    "campaign { name project { name initiative { name } } }",
    "agents": "team { teamId } department { departmentId }",
    "workload": "segment { segmentId } agent { agentId }",
}
ROOTS = {
    "segments": "Segment",
    "conversations": "Conversation",
    "agents": "Agent",
    "teams": "Team",
    "departments": "Department",
    "customers": "Customer",
    "workload": "WorkloadItem",
    "cases": "Case",
    "campaigns": "Campaign",
    "projects": "Project",
    "initiatives": "Initiative",
    "queues": "Queue",
}


async def snapshot(engine: AsyncEngine, roots: Iterable[str] = ROOTS) -> dict[str, Any]:
    """Every row of the named root connections, with scalar fields and key links, by key."""
    gw = Gateway(engine, WIDE)
    result: dict[str, Any] = {}
    for root in roots:
        fields = await scalar_fields(gw, ROOTS[root])
        selection = " ".join(fields) + " " + LINKS.get(root, "")
        data = await gw.query("{ %s(first: 100000) { nodes { %s } } }" % (root, selection))
        result[root] = sorted(data[root]["nodes"], key=lambda n: [str(n[f]) for f in fields])
    return result
