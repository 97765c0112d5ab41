"""Live pictures: one task per viewer computes each change's picture ahead of its readers, so a
reader still busy with the last picture (executing its documents, sending) holds up no change,
and a reader never receives a picture computed for another viewer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.observability import counting_statements, instrument_engine
from resolvers.context import Context, Options
from resolvers.live_pictures import LivePictures
from resolvers.realtime import PICTURE_STATEMENTS, Picture, Reads, note_reads
from resolvers.viewer import Role, Viewer
from tests.ingest_helpers import UTC_ZONE, call_events, fresh_engine
from warehouse.changes import ChangeFeed
from warehouse.ingest import Ingestor, RawEvent

T0 = 1_774_000_000
AGENT = Viewer(Role.AGENT, "a", agent_id="WKA")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "pictures.db")
    instrument_engine(engine)
    yield engine
    await engine.dispose()


def now_of(options: Options) -> datetime:
    return datetime.fromtimestamp(int(options.clock()), tz=UTC)


def _options() -> Options:
    return Options(clock=lambda: float(T0 + 60), coalesce_seconds=0.0)


async def _ingest(engine: AsyncEngine, lines: list[str]) -> None:
    await Ingestor(engine, UTC_ZONE).apply([RawEvent(line, "test") for line in lines])


async def _waiting_call(engine: AsyncEngine, sid: str, queue: str) -> None:
    line = {"EventType": "task-queue.entered", "Timestamp": T0 + 30, "TaskSid": sid,
            "TaskQueueName": queue}  # fmt: skip
    await _ingest(engine, [json.dumps(line)])


async def _read_queues(shown: Picture, reads: Reads) -> list[tuple[str, int]]:
    """What a document reading the queues reads, noted in `reads` (as a subscription does)."""

    async def execute() -> list[tuple[str, int]]:
        note_reads(reads)  # in this task only
        return [(q.queue, q.waiting_tasks) for q in await shown.queues(None)]

    return await asyncio.create_task(execute())


async def _published(pictures: LivePictures, viewer: Viewer, number: int) -> None:
    feed = pictures._feeds[viewer]
    async with asyncio.timeout(5):
        while feed.number < number:
            await asyncio.sleep(0.01)


async def test_the_next_picture_is_computed_while_its_reader_is_busy(engine: AsyncEngine) -> None:
    changes = ChangeFeed(engine)  # not started: the test announces the changes itself
    by_feed: list[int] = []
    pictures = LivePictures(counting=counting_statements, on_statements=by_feed.append)
    ctx = Context(engine=engine, viewer=Viewer.system(), options=_options(), changes=changes)
    await _waiting_call(engine, "WTone", "Sales")
    with pictures.reader(ctx, changes) as reader:
        stream = aiter(reader.pictures())
        first = await asyncio.wait_for(anext(stream), 5)
        reads: Reads = {}
        assert await _read_queues(first, reads) == [("Sales", 1)]
        reader.reads = reads

        await _waiting_call(engine, "WTtwo", "Sales")
        changes.bump()
        # the reader asks for nothing (busy elsewhere): the feed computes the change regardless,
        # every part the reader read last time included
        await _published(pictures, Viewer.system(), 2)
        assert by_feed[-1] > 0
        with counting_statements() as by_reader:
            second = await asyncio.wait_for(anext(stream), 5)
            assert not await second.shows_as(first, reads)
            assert await _read_queues(second, {}) == [("Sales", 2)]
        assert by_reader[0] == 0  # it found every part computed

        # a reader joining now reads the same picture, at once and with no statement
        with pictures.reader(ctx, changes) as late, counting_statements() as joining:
            assert await asyncio.wait_for(anext(aiter(late.pictures())), 5) is second
        assert joining[0] == 0 and pictures._feeds[Viewer.system()].number == 2
    assert pictures.viewers == 0  # the last reader out stopped the viewer's task


async def test_each_viewer_reads_only_pictures_of_their_own(engine: AsyncEngine) -> None:
    await _ingest(engine, call_events("WTA", "WKA", T0))  # WKA answered a Sales call
    await _waiting_call(engine, "WTB", "Support")  # a call nobody of WKA's took waits in Support
    changes = ChangeFeed(engine)
    pictures = LivePictures()
    admin = Context(engine=engine, viewer=Viewer.system(), options=_options(), changes=changes)
    agent = Context(engine=engine, viewer=AGENT, options=_options(), changes=changes)
    with pictures.reader(admin, changes) as for_admin, pictures.reader(agent, changes) as for_agent:
        admin_streams, agent_streams = aiter(for_admin.pictures()), aiter(for_agent.pictures())
        for _ in range(3):  # the first pictures, then two changes
            seen_by_admin = await asyncio.wait_for(anext(admin_streams), 5)
            seen_by_agent = await asyncio.wait_for(anext(agent_streams), 5)
            assert seen_by_admin.viewer == Viewer.system() and seen_by_agent.viewer == AGENT
            queues = await _read_queues(seen_by_agent, {})
            assert [name for name, _ in queues] == ["Sales"]  # not Support: not the agent's
            assert {name for name, _ in await _read_queues(seen_by_admin, {})} >= {
                "Sales",
                "Support",
            }
            changes.bump()
        assert pictures.viewers == 2


async def test_statements_built_once_bind_each_pictures_own_window(engine: AsyncEngine) -> None:
    """The picture's statements are built once per viewer and executed with the serving window
    of each picture: an agent who took a Sales call serves Sales for 24 hours, not longer."""
    await _ingest(engine, call_events("WTA", "WKA", T0))  # WKA answered a Sales call at T0
    instants = iter([T0 + 60, T0 + 60, T0 + 25 * 3600])

    def shown() -> Picture:
        options = Options(clock=lambda: float(next(instants)))
        return Picture(
            Context(engine=engine, viewer=AGENT, options=options), AGENT, now_of(options)
        )

    def misses() -> int:
        return sum(build.cache_info().misses for build in PICTURE_STATEMENTS)

    for build in PICTURE_STATEMENTS:
        build.cache_clear()  # whatever other tests built
    built = misses()
    assert [(q.queue, q.active_tasks) for q in await shown().queues(None)] == [("Sales", 0)]
    after_first = misses()
    assert after_first > built  # this viewer's statements were built for the first picture
    assert [(q.queue, q.active_tasks) for q in await shown().queues(None)] == [("Sales", 0)]
    assert misses() == after_first  # and reused for the next one
    assert await shown().queues(None) == []  # a day later, Sales is no queue the agent serves
