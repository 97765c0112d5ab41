"""On SQLite a short whole answer is read on the event loop's thread; a long one is not."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.viewer import Viewer
from schema.whole_answers import WholeAnswers
from tests.conftest import DEMO_END
from tests.test_whole_answers import AGENTS, GRAPHQL, context, learned
from warehouse import inline_reads
from warehouse.demo import build_demo
from warehouse.engine import create_engine, create_tables, dispose, thread_reader


@pytest.fixture(scope="session")
async def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """A SQLite warehouse whatever engine the suite runs on: the inline reads are SQLite's."""
    path = tmp_path_factory.mktemp("inline") / "small.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await create_tables(engine)
    await build_demo(engine, segments=300, seed=7, days=2, end=DEMO_END, tz=ZoneInfo("UTC"))
    yield engine
    await dispose(engine)


@pytest.fixture
def threads(sqlite_engine: AsyncEngine) -> Iterator[list[int]]:
    """The thread each statement of the SQLite reader runs on, in order."""
    reader = thread_reader(sqlite_engine)
    assert reader is not None
    seen: list[int] = []

    def note(*_: Any) -> None:
        seen.append(threading.get_ident())

    event.listen(reader, "before_cursor_execute", note)
    yield seen
    event.remove(reader, "before_cursor_execute", note)


async def _answers(engine: AsyncEngine, document: str, times: int) -> list[Any]:
    whole = WholeAnswers(GRAPHQL)
    admin = Viewer.system()
    expected = (await learned(engine, whole, admin, document, None)).data
    answers = []
    for _ in range(times):
        body = await whole.answer(context(engine, admin), document, None, None)
        assert body is not None
        answers.append(json.loads(body)["data"])
    assert all(answer == json.loads(json.dumps(expected)) for answer in answers)
    return answers


async def test_a_short_answer_moves_to_the_loop_thread(
    sqlite_engine: AsyncEngine, threads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("schema.whole_answers.SHORT_SECONDS", 10.0)  # short on any machine
    await _answers(sqlite_engine, AGENTS, 3)
    loop = threading.get_ident()
    *_, first, second, third = threads  # learning's statements come first
    assert first != loop  # not known to be short yet: a worker thread
    assert second == loop and third == loop


async def test_a_long_answer_stays_in_the_worker_threads(
    sqlite_engine: AsyncEngine, threads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("schema.whole_answers.SHORT_SECONDS", 0.0)
    await _answers(sqlite_engine, AGENTS, 3)
    loop = threading.get_ident()
    assert threads[-3:] and loop not in threads[-3:]


async def test_a_read_past_the_deadline_is_interrupted_and_read_in_a_thread(
    sqlite_engine: AsyncEngine, threads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data grew since the last read: the loop is given back at the deadline and the answer
    is read in a worker thread."""
    interrupted: list[float] = []
    real = inline_reads.scalar_inline

    def counted(*args: Any) -> Any:
        try:
            return real(*args)
        except inline_reads.ReadTooLong:
            interrupted.append(1)
            raise

    monkeypatch.setattr("schema.whole_answers.scalar_inline", counted)
    monkeypatch.setattr("schema.whole_answers.SHORT_SECONDS", 10.0)
    monkeypatch.setattr(inline_reads, "DEADLINE_SECONDS", 0.0)
    monkeypatch.setattr(inline_reads, "_STEPS", 1)
    await _answers(sqlite_engine, AGENTS, 3)
    loop = threading.get_ident()
    # thread (not known short), loop interrupted, thread; then loop interrupted, thread
    assert interrupted == [1, 1]
    assert threads[-5:-1].count(loop) == 2
    assert threads[-1] != loop
