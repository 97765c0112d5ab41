"""Helpers for the ingest tests: load event lines into a fresh warehouse, read it back via GraphQL."""

from __future__ import annotations

import json
import re
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
from warehouse.taskrouter import KNOWN_EVENTS

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


EVENT_TYPES = [*sorted(KNOWN_EVENTS), "workspace.updated"]


def template(kind: str, tag: str, at: int) -> dict[str, Any]:
    """A valid callback payload of `kind` for task `WT<tag>`, reservation and worker of its own."""
    event: dict[str, Any] = {
        "EventType": kind,
        "Sid": f"EV{tag}-{kind}",
        "TimestampMs": at * 1000,
        "TaskSid": f"WT{tag}",
        "TaskQueueName": "Sales",
        "TaskChannelUniqueName": "voice",
        "TaskAttributes": json.dumps({"direction": "inbound", "from": f"+44{tag}"}),
        "ReservationSid": f"WR{tag}",
        "WorkerSid": f"WK{tag}",
        "WorkerName": f"worker{tag}",
    }
    if kind.startswith("worker."):
        event.update(
            WorkerActivityName="Available",
            WorkerPreviousActivityName="Offline",
            WorkerTimeInPreviousActivity=60,
            WorkerAttributes=json.dumps({"full_name": f"Worker {tag}", "team_id": "T1"}),
        )
        for key in ("TaskSid", "TaskQueueName", "TaskChannelUniqueName", "TaskAttributes"):
            event.pop(key)
    return event


def to_cloud(event: dict[str, Any], kind: str) -> dict[str, Any]:
    """The same event as an Event Streams cloud event of type `kind` (snake_case payload)."""
    payload = {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in event.items()}
    if payload.get("event_type") == kind:
        del payload["event_type"]
    return {
        "type": f"com.twilio.taskrouter.{kind}",
        "id": payload.pop("sid", None),
        "time": "2026-03-20T09:46:40.000Z",
        "data": {"payload": payload},
    }


def call_events(task: str, worker: str, at: int, *, sid: str | None = None) -> list[str]:
    """A call answered by `worker` at `at`, as event-callback lines (with event SIDs if `sid`)."""
    res = {"TaskSid": task, "ReservationSid": f"WR{task}", "WorkerSid": worker,
           "TaskQueueName": "Sales", "TaskChannelUniqueName": "voice"}  # fmt: skip
    lines = [
        {"EventType": "task-queue.entered", "Timestamp": at - 30, "TaskSid": task,
         "TaskQueueName": "Sales"},
        {"EventType": "reservation.created", "Timestamp": at - 5, **res},
        {"EventType": "reservation.accepted", "Timestamp": at, **res},
        {"EventType": "reservation.completed", "Timestamp": at + 100, **res},
    ]  # fmt: skip
    if sid is not None:
        for n, line in enumerate(lines):
            line["Sid"] = f"EV{sid}-{n}"
    return [json.dumps(line) for line in lines]
