"""TaskRouter ingest: round trip with the demo, idempotence, order tolerance, dead letters, crashes,
and ingest running while queries are answered."""

from __future__ import annotations

import asyncio
import io
import json
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli import main
from tests.conftest import DEMO_END, Gateway
from tests.databases import fresh_database
from tests.ingest_helpers import WIDE, fresh_engine, ingest_lines, snapshot
from warehouse import tables as t
from warehouse.demo import build_demo
from warehouse.engine import create_engine
from warehouse.ingest import IngestCounts, Ingestor, read_lines
from warehouse.ingest_tables import dead_letters, events


@dataclass
class DemoEvents:
    engine: AsyncEngine
    path: Path
    lines: list[str]


@pytest.fixture(scope="session")
async def demo_events(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoEvents]:
    folder = tmp_path_factory.mktemp("events")
    engine = create_engine(await fresh_database(folder, "demo"))
    path = folder / "events.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        await build_demo(
            engine, segments=900, seed=5, days=2, end=DEMO_END, tz=ZoneInfo("UTC"),
            events_out=stream,
        )  # fmt: skip
    yield DemoEvents(engine, path, path.read_text(encoding="utf-8").splitlines())
    await engine.dispose()


@pytest.fixture(scope="session")
async def ingested(
    demo_events: DemoEvents, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[AsyncEngine, IngestCounts]]:
    engine = await fresh_engine(tmp_path_factory.mktemp("ingested") / "in.db")
    counts = await ingest_lines(engine, demo_events.lines)
    yield engine, counts
    await engine.dispose()


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "fresh.db")
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def ingested_snapshot(ingested: tuple[AsyncEngine, IngestCounts]) -> dict[str, Any]:
    return await snapshot(ingested[0])


async def test_round_trip_gives_the_segments_the_demo_wrote(
    demo_events: DemoEvents, ingested: tuple[AsyncEngine, IngestCounts]
) -> None:
    engine, counts = ingested
    assert counts.rejected == 0 and counts.read == len(demo_events.lines) == counts.applied
    roots = ["segments", "workload", "conversations", "agents", "teams", "departments"]
    expected = await snapshot(demo_events.engine, roots)
    found = await snapshot(engine, roots)
    for root in roots:
        assert len(found[root]) == len(expected[root]), root
        assert found[root] == expected[root], root


async def test_round_trip_customers_are_the_demo_customers_who_made_contact(
    demo_events: DemoEvents, ingested: tuple[AsyncEngine, IngestCounts]
) -> None:
    wanted = await Gateway(demo_events.engine, WIDE).query(
        "{ conversations(first: 100000) { nodes { customer { customerId name phone email "
        "city yearOfBirth acquisitionDate businessValue } } } }"
    )
    expected = {json.dumps(n["customer"]) for n in wanted["conversations"]["nodes"]}
    found = await snapshot(ingested[0], ["customers"])
    keys = ["customerId", "name", "phone", "email", "city", "yearOfBirth", "acquisitionDate",
            "businessValue"]  # fmt: skip
    assert {json.dumps({k: c[k] for k in keys}) for c in found["customers"]} == expected


async def test_same_file_twice_changes_nothing(
    demo_events: DemoEvents, ingested_snapshot: dict[str, Any], fresh: AsyncEngine
) -> None:
    await ingest_lines(fresh, demo_events.lines)
    again = await ingest_lines(fresh, demo_events.lines)
    assert (again.applied, again.ignored) == (0, len(demo_events.lines))
    assert await snapshot(fresh) == ingested_snapshot


async def test_events_shuffled_within_each_task_give_the_same_warehouse(
    demo_events: DemoEvents, ingested_snapshot: dict[str, Any], fresh: AsyncEngine
) -> None:
    """Each task's (and worker's) events are dealt back in random order into the same slots."""
    rng = random.Random(3)
    slots: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(demo_events.lines):
        event = json.loads(line)
        slots[event.get("TaskSid") or event["WorkerSid"]].append(i)
    shuffled = list(demo_events.lines)
    for positions in slots.values():
        lines = [demo_events.lines[i] for i in positions]
        rng.shuffle(lines)
        for i, line in zip(positions, lines, strict=True):
            shuffled[i] = line
    assert shuffled != demo_events.lines
    await ingest_lines(fresh, shuffled, batch_size=97)
    assert await snapshot(fresh) == ingested_snapshot


async def test_a_fully_shuffled_file_gives_the_same_warehouse(
    demo_events: DemoEvents, ingested_snapshot: dict[str, Any], fresh: AsyncEngine
) -> None:
    shuffled = list(demo_events.lines)
    random.Random(8).shuffle(shuffled)
    await ingest_lines(fresh, shuffled, batch_size=250)
    assert await snapshot(fresh) == ingested_snapshot


class CrashingIngestor(Ingestor):
    """Fails while rebuilding its third batch, as a killed process would."""

    batches = 0

    async def _rebuild(self, conn: Any, fresh: Any, plan: Any) -> None:
        self.batches += 1
        if self.batches == 3:
            raise RuntimeError("simulated crash")
        await super()._rebuild(conn, fresh, plan)


async def test_a_crash_loses_nothing_committed_and_a_rerun_completes(
    demo_events: DemoEvents, ingested_snapshot: dict[str, Any], fresh: AsyncEngine
) -> None:
    crashing = CrashingIngestor(fresh, ZoneInfo("UTC"), batch_size=300)
    with pytest.raises(RuntimeError, match="simulated crash"):
        async for _ in crashing.ingest(read_lines(demo_events.lines, "crash")):
            pass
    async with fresh.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(events))).scalar_one()
    assert stored == 600, "two whole batches committed, the failed one rolled back"
    rerun = await ingest_lines(fresh, demo_events.lines)
    assert rerun.applied == len(demo_events.lines) - 600
    assert await snapshot(fresh) == ingested_snapshot


BAD_LINES = [
    '{"EventType": "task.created", "TaskSid": "WTbad1"',  # bad JSON
    '{"EventType": "task.created", "TaskSid": "WTbad2"}',  # missing Timestamp
    '{"EventType": "task.created", "Timestamp": "soon", "TaskSid": "WTbad3"}',  # wrong type
    '{"hello": "world"}',  # unknown shape
    '{"EventType": "reservation.created", "Timestamp": 1774000000, "TaskSid": "WTbad4"}',
]


async def test_malformed_events_land_in_dead_letters_and_the_rest_applies(
    demo_events: DemoEvents, fresh: AsyncEngine
) -> None:
    good = demo_events.lines[:400]
    ignored = '{"EventType": "workspace.updated", "Timestamp": 1774000000}'
    lines = good[:100] + BAD_LINES + [ignored] + good[100:]
    counts = await ingest_lines(fresh, lines, source="bad.jsonl")
    assert (counts.read, counts.applied, counts.ignored, counts.rejected) == (406, 400, 1, 5)
    data = await Gateway(fresh, WIDE).query(
        "{ deadLetters(orderBy: [{field: LINE}]) { totalCount nodes { source line raw reason } } }"
    )
    letters = data["deadLetters"]["nodes"]
    assert [(d["source"], d["line"], d["raw"]) for d in letters] == [
        ("bad.jsonl", 101 + i, line) for i, line in enumerate(BAD_LINES)
    ]
    reasons = [d["reason"] for d in letters]
    assert reasons[0].startswith("bad JSON")
    assert reasons[1] == "missing Timestamp (or TimestampMs)"
    assert "Timestamp must be" in reasons[2]
    assert reasons[3].startswith("unknown shape")
    assert reasons[4] == "reservation.created: missing ReservationSid"
    again = await ingest_lines(fresh, lines, source="bad.jsonl")
    assert again.rejected == 5
    async with fresh.connect() as conn:
        filed = (await conn.execute(select(func.count()).select_from(dead_letters))).scalar_one()
    assert filed == 5, "re-running a file does not file its rejects twice"


def test_the_command_prints_counts_and_fails_when_anything_was_rejected(
    demo_events: DemoEvents, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(demo_events.lines[:50] + BAD_LINES[:2]) + "\n", encoding="utf-8")
    database = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    status = main(["ingest", str(path), "--database", database, "--quiet"])
    captured = capsys.readouterr()
    assert status == 1
    assert "Ingested: 52 events read, 50 applied, 0 ignored, 2 rejected" in captured.out
    assert f"rejected {path}:51: bad JSON" in captured.err
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(demo_events.lines[:50]) + "\n", encoding="utf-8")
    assert main(["ingest", str(clean), "--database", database, "--quiet"]) == 0
    assert "50 events read, 0 applied, 50 ignored, 0 rejected" in capsys.readouterr().out


def test_the_command_reads_stdin_for_a_dash(
    demo_events: DemoEvents, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(demo_events.lines[:30]) + "\n"))
    database = f"sqlite+aiosqlite:///{tmp_path / 'stdin.db'}"
    assert main(["ingest", "-", "--database", database, "--quiet"]) == 0
    assert "30 events read, 30 applied, 0 ignored, 0 rejected" in capsys.readouterr().out


async def test_ingest_while_queries_run_never_hits_a_locked_database(
    demo_events: DemoEvents, tmp_path: Path
) -> None:
    writer = await fresh_engine(tmp_path / "busy.db")
    reader = create_engine(writer.url.render_as_string(hide_password=False))
    gw = Gateway(reader)
    done = asyncio.Event()
    answered = 0

    async def query_load() -> None:
        nonlocal answered
        while not done.is_set():
            await gw.query(
                "{ segments(first: 20, orderBy: [{field: STARTED_AT, direction: DESC}]) "
                "{ totalCount nodes { segmentId agent { fullName } } } workload { totalCount } }"
            )
            answered += 1

    async def ingest() -> IngestCounts:
        try:
            return await ingest_lines(writer, demo_events.lines[:1200], batch_size=100)
        finally:
            done.set()

    try:
        counts, *_ = await asyncio.gather(ingest(), query_load(), query_load())
        assert counts.applied == 1200
        assert answered >= 4
    finally:
        await writer.dispose()
        await reader.dispose()


async def test_dead_letters_are_not_reachable_by_node_id(gw: Gateway) -> None:
    from resolvers.ids import encode_global_id

    errors = await gw.errors(
        "query($id: ID!) { node(id: $id) { id } }", {"id": encode_global_id("DeadLetter", "1")}
    )
    assert "unknown type 'DeadLetter'" in errors[0]


def _call(task: str, worker: str, at: int) -> list[str]:
    """A call answered by `worker` at `at`, as event-callback lines."""
    res = {"TaskSid": task, "ReservationSid": f"WR{task}", "WorkerSid": worker,
           "TaskQueueName": "Sales", "TaskChannelUniqueName": "voice"}  # fmt: skip
    lines = [
        {"EventType": "task-queue.entered", "Timestamp": at - 30, "TaskSid": task,
         "TaskQueueName": "Sales"},
        {"EventType": "reservation.created", "Timestamp": at - 5, **res},
        {"EventType": "reservation.accepted", "Timestamp": at, **res},
        {"EventType": "reservation.completed", "Timestamp": at + 100, **res},
    ]  # fmt: skip
    return [json.dumps(line) for line in lines]


def _worker(kind: str, at: int, team: str | None) -> str:
    attributes = {"full_name": "Ada Lovelace"} | (
        {"team_id": team, "team_name": team} if team else {}
    )
    return json.dumps(
        {"EventType": kind, "Timestamp": at, "WorkerSid": "WKada",
         "WorkerAttributes": json.dumps(attributes)}
    )  # fmt: skip


async def test_the_queue_is_the_team_until_the_worker_has_one(tmp_path: Path) -> None:
    t0 = 1_774_000_000
    engine = await fresh_engine(tmp_path / "teams.db")
    gw = Gateway(engine, WIDE)
    query = """{ segments(filter: {kind: {eq: CONVERSATION}}, orderBy: [{field: STARTED_AT}])
                 { nodes { handlingTeam { teamId } } } teams { nodes { teamId } } }"""
    try:
        await ingest_lines(engine, [_worker("worker.created", t0 - 600, None)])
        await ingest_lines(engine, _call("WT1", "WKada", t0) + _call("WT2", "WKada", t0 + 900))
        data = await gw.query(query)
        assert [s["handlingTeam"]["teamId"] for s in data["segments"]["nodes"]] == ["Sales"] * 2
        # the team arrives late, effective between the two calls
        await ingest_lines(engine, [_worker("worker.attributes.update", t0 + 500, "Blue")])
        data = await gw.query(query)
        assert [s["handlingTeam"]["teamId"] for s in data["segments"]["nodes"]] == [
            "Sales",
            "Blue",
        ]
        await ingest_lines(engine, [_worker("worker.attributes.update", t0 - 300, "Blue")])
        data = await gw.query(query)
        assert [s["handlingTeam"]["teamId"] for s in data["segments"]["nodes"]] == ["Blue"] * 2
        assert [t["teamId"] for t in data["teams"]["nodes"]] == ["Blue"], "stand-in team dropped"
    finally:
        await engine.dispose()


async def test_rebuilding_an_assessed_task_keeps_its_assessments(
    demo_events: DemoEvents, tmp_path: Path
) -> None:
    """A late event rebuilds its task's segments; assessments made on them meanwhile stay."""
    engine = await fresh_engine(tmp_path / "assessed.db")
    segs = t.segments
    try:
        await ingest_lines(engine, demo_events.lines)
        async with engine.begin() as conn:
            assessed = (
                await conn.execute(
                    select(segs.c.segment_id, segs.c.external_id, segs.c.agent_id)
                    .where(segs.c.kind == "CONVERSATION", segs.c.agent_id.is_not(None))
                    .order_by(segs.c.segment_id)
                    .limit(1)
                )
            ).one()
            await conn.execute(t.supervisors.insert().values(supervisor_id="SUP", name="Sam"))
            await conn.execute(
                t.assessments.insert().values(
                    assessment_id="AS-late", type="COMMENT", segment_id=assessed.segment_id,
                    agent_id=assessed.agent_id, supervisor_id="SUP", comment="Well handled.",
                    created_at=1_774_800_000,
                )
            )  # fmt: skip
        completed = next(
            event
            for event in map(json.loads, demo_events.lines)
            if event.get("TaskSid") == assessed.external_id
            and event.get("EventType") == "task.completed"
        )
        redelivered = {**completed, "Sid": "EV" + "f" * 32}  # a new delivery, not a duplicate
        counts = await ingest_lines(engine, [json.dumps(redelivered)])
        assert counts.applied == 1 and counts.rejected == 0
        async with engine.connect() as conn:
            kept = (
                await conn.execute(
                    select(t.assessments.c.segment_id).where(
                        t.assessments.c.assessment_id == "AS-late"
                    )
                )
            ).scalar_one()
            still = await conn.execute(select(segs.c.kind).where(segs.c.segment_id == kept))
            assert kept == assessed.segment_id and still.scalar_one() == "CONVERSATION"
    finally:
        await engine.dispose()
