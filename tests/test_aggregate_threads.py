"""On SQLite, metric and report aggregates run on threads of lower scheduling priority than pages.

A grouped statement over a day of segments costs hundreds of milliseconds of CPU, a page a few;
with the aggregate threads niced (`resolvers/cancel.py`), a page read that wakes up while
aggregates keep the cores busy is scheduled first. These tests read each statement's thread and
that thread's nice value while the statement runs.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.cancel import AGGREGATE_NICENESS, aggregate_reads, read_in_thread
from resolvers.context import Context
from resolvers.viewer import Viewer
from schema import build_schema
from schema.whole_answers import WholeAnswers
from warehouse.demo import build_demo
from warehouse.engine import create_engine, thread_reader

SCHEMA = build_schema()
END = date(2026, 3, 29)
PAGE = "{ conversations(first: 5) { nodes { conversationId segments { nodes { kind } } } } }"
REPORT = """{ report(groupBy: [QUEUE], from: "2026-03-27T00:00:00Z", to: "2026-03-29T00:00:00Z") {
  rows { key { queue } metrics { queueSegments averageQueueTime } } } }"""
REALTIME = (
    "{ realtime { queues { queue handledToday serviceLevelToday serviceLevelLast30Minutes } } }"
)
METRICS = """{ queues(first: 5) { nodes { name
  metrics(from: "2026-03-27T00:00:00Z", to: "2026-03-29T00:00:00Z") { conversations } } } }"""
NESTED_METRICS = """{ teams(first: 3) { nodes { name agents(first: 2) { nodes { fullName
  metrics(from: "2026-03-27T00:00:00Z", to: "2026-03-29T00:00:00Z") { handledConversations } } } } } }"""


def _niceness() -> int:
    """The calling thread's own nice value (a Linux thread is a task with its own)."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


PROCESS = os.getpriority(os.PRIO_PROCESS, os.getpid())
LOWERED = min(19, PROCESS + AGGREGATE_NICENESS)


async def test_aggregate_reads_run_niced_and_other_reads_do_not(tmp_path: Path) -> None:
    engine = create_sync_engine(f"sqlite:///{tmp_path / 'threads.db'}")

    def where(conn: Any) -> tuple[str, int]:
        conn.execute(text("SELECT 1"))
        return threading.current_thread().name, _niceness()

    try:
        plain = await asyncio.gather(*(read_in_thread(engine, where) for _ in range(6)))
        with aggregate_reads():
            niced = await asyncio.gather(*(read_in_thread(engine, where) for _ in range(6)))
        after = await read_in_thread(engine, where)  # the block ended: back to page threads
    finally:
        engine.dispose()
    assert LOWERED > PROCESS
    assert {n for _, n in niced} == {LOWERED}, niced
    assert all(name.startswith("sqlite-aggregate") for name, _ in niced), niced
    assert {n for _, n in [*plain, after]} == {PROCESS}, plain
    assert not any(name.startswith("sqlite-aggregate") for name, _ in [*plain, after])


@dataclass(frozen=True)
class Ran:
    statement: str
    thread: str
    niceness: int


@pytest.fixture(scope="module")
async def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """A small SQLite demo whatever the suite's engine: the thread pools are SQLite's."""
    path = tmp_path_factory.mktemp("aggregate-threads") / "demo.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await build_demo(engine, segments=400, seed=3, days=3, end=END, tz=ZoneInfo("UTC"))
    yield engine
    await engine.dispose()


@contextmanager
def _recording(engine: AsyncEngine) -> Iterator[list[Ran]]:
    """Every statement run on the thread reader inside the block, with its thread and nice
    value."""
    reader = thread_reader(engine)
    assert reader is not None
    ran: list[Ran] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        ran.append(Ran(statement, threading.current_thread().name, _niceness()))

    event.listen(reader, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        event.remove(reader, "before_cursor_execute", record)


async def _statements(engine: AsyncEngine, document: str) -> list[Ran]:
    """Every statement the document ran on the thread reader, with its thread and nice value."""
    with _recording(engine) as ran:
        context = Context(engine=engine, viewer=Viewer.system())
        result = await SCHEMA.execute(document, context_value=context)
    assert result.errors is None, result.errors
    assert ran, "no statement ran on the thread reader"
    return ran


@pytest.mark.parametrize(
    "document", [REPORT, METRICS, NESTED_METRICS], ids=["report", "metrics", "nested metrics"]
)
async def test_grouped_metric_statements_run_on_niced_threads(
    sqlite_demo: AsyncEngine, document: str
) -> None:
    grouped = [r for r in await _statements(sqlite_demo, document) if "GROUP BY" in r.statement]
    assert grouped
    assert all(r.thread.startswith("sqlite-aggregate") for r in grouped), grouped
    assert {r.niceness for r in grouped} == {LOWERED}, grouped


async def test_page_statements_run_at_the_process_priority(sqlite_demo: AsyncEngine) -> None:
    ran = await _statements(sqlite_demo, PAGE)
    assert all(r.thread.startswith("sqlite-read") for r in ran), ran
    assert {r.niceness for r in ran} == {PROCESS}, ran


async def test_the_live_pictures_metrics_run_at_the_process_priority(
    sqlite_demo: AsyncEngine,
) -> None:
    """The live picture's metrics are awaited by every subscriber of a change: not niced."""
    ran = await _statements(sqlite_demo, REALTIME)
    assert [r for r in ran if "GROUP BY" in r.statement]  # today's metrics were computed
    assert all(r.thread.startswith("sqlite-read") for r in ran), ran
    assert {r.niceness for r in ran} == {PROCESS}, ran


@pytest.mark.parametrize(
    "document", [METRICS, REPORT.replace("to:", "first: 5, to:")], ids=["metrics", "report"]
)
async def test_whole_answers_with_metrics_run_on_niced_threads(
    sqlite_demo: AsyncEngine, document: str
) -> None:
    """A dashboard answered whole (`schema/whole_answers.py`) computes its metrics in its one
    statement: read behind pages, like the grouped statements it replaces."""
    whole = WholeAnswers(SCHEMA._schema)
    for _ in range(2):  # GraphQL answers; the second answer is learned
        context = Context(engine=sqlite_demo, viewer=Viewer.system())
        result = await SCHEMA.execute(document, context_value=context)
        assert result.errors is None, result.errors
        whole.learn(context, document, None, None)
    with _recording(sqlite_demo) as ran:
        context = Context(engine=sqlite_demo, viewer=Viewer.system())
        body = await whole.answer(context, document, None, None)
    assert body is not None and b'"metrics"' in body
    assert len(ran) == 1 and "GROUP BY" in ran[0].statement, ran
    assert ran[0].thread.startswith("sqlite-aggregate"), ran
    assert ran[0].niceness == LOWERED, ran
