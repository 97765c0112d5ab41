"""A live `realtime` subscription executes its document again only when a part of the picture its
last result read has changed: reading the shared picture is cheap, executing a document is not,
and with many distinct documents per viewer most changes leave most results as they were."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.subscriptions import COMPUTATIONS, Hub, Key, Result, Subscriber
from resolvers.context import Context, Options
from resolvers.live_pictures import LivePictures
from resolvers.viewer import Viewer
from schema import build_schema
from tests.ingest_helpers import UTC_ZONE, call_events, fresh_engine, template
from warehouse.changes import ChangeFeed
from warehouse.ingest import Ingestor, RawEvent

T0 = 1_774_000_000
QUEUES = "subscription { realtime { queues { queue waitingTasks } } }"
AGENTS = "subscription { realtime { agents { activity } } }"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "skip.db")
    yield engine
    await engine.dispose()


def computations() -> float:
    return float(COMPUTATIONS._value.get())


async def next_result(results: AsyncIterator[Result]) -> object:
    return (await asyncio.wait_for(anext(results), 5)).payload["data"]["realtime"]  # type: ignore[index]


async def settle(feed: ChangeFeed) -> None:
    """Let every group finish the computations the latest change started."""
    for _ in range(20):
        await asyncio.sleep(0.05)


async def test_only_results_whose_parts_changed_are_executed(engine: AsyncEngine) -> None:
    options = Options(clock=lambda: float(T0 + 60), coalesce_seconds=0.0)  # one instant throughout
    feed = ChangeFeed(engine)
    shared = LivePictures()

    def make_context(viewer: Viewer) -> Context:
        return Context(
            engine=engine, options=options, viewer=viewer, changes=feed, live_pictures=shared
        )

    hub = Hub(build_schema(), make_context, max_subscriptions=10)
    subscribers: list[Subscriber] = [
        hub.open(Key.of(document, None, None, Viewer.system())) for document in (QUEUES, AGENTS)
    ]
    queues, agents = (s.results() for s in subscribers)
    assert await next_result(queues) == {"queues": []}
    assert await next_result(agents) == {"agents": []}
    ingestor = Ingestor(engine, UTC_ZONE)
    try:
        # a call waits in Sales: the queue view is executed again, the agent view is not
        before = computations()
        entered = call_events("WTA", "WKA", T0)[0]  # no worker named yet
        await ingestor.apply([RawEvent(entered, "test")])
        feed.bump()
        assert await next_result(queues) == {"queues": [{"queue": "Sales", "waitingTasks": 1}]}
        await settle(feed)
        assert computations() - before == 1
        # a change neither view shows: neither is executed
        before = computations()
        feed.bump()
        await settle(feed)
        assert computations() - before == 0
        # an agent logs in (a status segment without a queue: today's numbers gain a row)
        status = template("worker.activity.update", "B", T0 + 10)
        await ingestor.apply([RawEvent(json.dumps(status), "test")])
        feed.bump()
        assert await next_result(agents) == {"agents": [{"activity": "Available"}]}
        await settle(feed)
        # then takes a break: the agent view is executed and sent, the queue view is not
        before = computations()
        status |= {"Sid": "EVB-break", "TimestampMs": (T0 + 20) * 1000}
        status |= {"WorkerActivityName": "Break", "WorkerPreviousActivityName": "Available"}
        await ingestor.apply([RawEvent(json.dumps(status), "test")])
        feed.bump()
        assert await next_result(agents) == {"agents": [{"activity": "Break"}]}
        await settle(feed)
        assert computations() - before == 1
    finally:
        for subscriber in subscribers:
            hub.close(subscriber)
        await hub.stop()
        await feed.stop()
