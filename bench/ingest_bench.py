"""Ingest throughput against its floor, measured in the same run (not part of `make test`).

    .venv/bin/python bench/ingest_bench.py [--segments 1000000] [--days 14] [--workdir DIR]

1. The demo contact center is written once with `--events-out` (kept in the work directory for
   later runs): its event file is the input, its database holds the rows ingest must produce.
2. Floor: parse every line of the file with the JSON library and bulk-insert the resulting rows
   (the raw events, and the warehouse rows the demo wrote for the same traffic) with one
   `executemany` per table and chunk, through the same SQLAlchemy/aiosqlite stack.
3. Ingest: `Ingestor` on an empty database, in its default batches.

Prints both rates in events per second and the ratio (target: ingest within 3x of the floor).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Table, select

from warehouse import tables as t
from warehouse.demo import build_demo
from warehouse.engine import create_engine, create_tables
from warehouse.ingest import Ingestor, read_lines
from warehouse.ingest_tables import events

END = date(2026, 3, 29)
UTC = ZoneInfo("UTC")
CHUNK = 50_000
WAREHOUSE_TABLES: list[Table] = [
    t.initiatives, t.projects, t.campaigns, t.cases, t.departments, t.teams, t.agents,
    t.customers, t.queues, t.conversations, t.segments, t.workload,
]  # fmt: skip


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


async def make_events(workdir: Path, segments: int, days: int) -> tuple[Path, Path]:
    demo_db, events_file = workdir / "demo.db", workdir / "events.jsonl"
    if events_file.exists() and demo_db.exists():
        return demo_db, events_file
    engine = create_engine(_url(_fresh(demo_db)))
    started = time.perf_counter()
    with events_file.open("w", encoding="utf-8") as stream:
        stats = await build_demo(
            engine, segments=segments, seed=42, days=days, end=END, tz=UTC, events_out=stream,
            progress=True,
        )  # fmt: skip
    await engine.dispose()
    print(f"demo written in {time.perf_counter() - started:.0f}s: {stats}")
    return demo_db, events_file


async def floor(demo_db: Path, events_file: Path, target: Path) -> tuple[int, float]:
    """Seconds to json-parse the file and bulk-insert its raw events and warehouse rows."""
    source = create_engine(_url(demo_db))
    engine = create_engine(_url(_fresh(target)))
    await create_tables(engine)
    elapsed = 0.0
    count = 0
    with events_file.open(encoding="utf-8") as stream:
        while True:
            lines = [line for _, line in zip(range(CHUNK), stream, strict=False)]
            if not lines:
                break
            started = time.perf_counter()
            rows = []
            for line in lines:
                event = json.loads(line)
                rows.append(
                    {
                        "dedup_key": event["Sid"],
                        "event_type": event["EventType"],
                        "task_sid": event.get("TaskSid"),
                        "worker_sid": event.get("WorkerSid"),
                        "timestamp_ms": event["TimestampMs"],
                        "has_worker_attributes": "WorkerAttributes" in event,
                        "payload": line,
                        "source": "floor",
                        "line": count + len(rows),
                        "received_at": 0,
                    }
                )
            async with engine.begin() as conn:
                await conn.execute(events.insert(), rows)
            elapsed += time.perf_counter() - started
            count += len(lines)
    for table in WAREHOUSE_TABLES:
        async with source.connect() as conn:
            result = await conn.stream(select(table))
            async for partition in result.mappings().partitions(CHUNK):
                rows = [dict(r) for r in partition]
                started = time.perf_counter()
                async with engine.begin() as write:
                    await write.execute(table.insert(), rows)
                elapsed += time.perf_counter() - started
    await source.dispose()
    await engine.dispose()
    return count, elapsed


async def ingest(events_file: Path, target: Path) -> tuple[int, float]:
    engine = create_engine(_url(_fresh(target)))
    await create_tables(engine)
    started = time.perf_counter()
    read = 0
    with events_file.open(encoding="utf-8") as stream:
        async for counts in Ingestor(engine, UTC).ingest(read_lines(stream, str(events_file))):
            read += counts.read
            if counts.rejected:
                raise SystemExit(f"unexpected rejects: {counts.problems[:3]}")
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return read, elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ingest-bench"))
    args = parser.parse_args()
    workdir = args.workdir / f"{args.segments}-{args.days}"
    workdir.mkdir(parents=True, exist_ok=True)
    demo_db, events_file = await make_events(workdir, args.segments, args.days)
    n, floor_seconds = await floor(demo_db, events_file, workdir / "floor.db")
    print(f"floor : {n:,} events in {floor_seconds:7.1f}s = {n / floor_seconds:9,.0f} events/s")
    m, ingest_seconds = await ingest(events_file, workdir / "ingest.db")
    print(f"ingest: {m:,} events in {ingest_seconds:7.1f}s = {m / ingest_seconds:9,.0f} events/s")
    print(f"ratio : ingest takes {ingest_seconds / floor_seconds:.2f}x the floor (target <= 3x)")


if __name__ == "__main__":
    asyncio.run(main())
