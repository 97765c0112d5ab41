"""The hub's sharing policy in-process: one computation per change for a group, and a subscriber
that stops reading holds only the latest result and holds up no one."""

from __future__ import annotations

import asyncio
import itertools
import json

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.subscriptions import Hub, Key
from resolvers.context import Context, Options
from resolvers.viewer import Role, Viewer
from schema import build_schema
from warehouse.changes import ChangeFeed

DOCUMENT = "subscription { realtime { asOf } }"


async def test_a_stalled_subscriber_keeps_only_the_latest_and_blocks_nobody(
    small_engine: AsyncEngine,
) -> None:
    ticks = itertools.count(1_774_000_000)
    options = Options(clock=lambda: float(next(ticks)), coalesce_seconds=0.0)
    feed = ChangeFeed(small_engine)
    computed: list[Viewer] = []

    def make_context(viewer: Viewer) -> Context:
        computed.append(viewer)
        return Context(engine=small_engine, options=options, viewer=viewer, changes=feed)

    hub = Hub(build_schema(), make_context, max_subscriptions=10)
    key = Key.of(DOCUMENT, None, None, Viewer.system())
    stalled, live = hub.open(key), hub.open(key)
    other = hub.open(Key.of(DOCUMENT, None, None, Viewer(Role.AGENT, "a", agent_id="WK1")))
    assert hub.groups == 2 and hub.subscriptions == 3
    received = live.results()
    seen = [await asyncio.wait_for(anext(received), 5)]
    for _ in range(5):
        feed.bump()
        seen.append(await asyncio.wait_for(anext(received), 5))
    instants = [r.payload["data"]["realtime"]["asOf"] for r in seen]
    assert len(set(instants)) == 6  # each change gave the live subscriber a new result
    # the stalled one was never waited for: it holds exactly one result, the latest
    backlog = stalled.results()
    assert await asyncio.wait_for(anext(backlog), 1) is seen[-1]  # one result, encoded once
    assert json.loads(seen[-1].text) == seen[-1].payload
    assert stalled._latest is None
    assert len(computed) == 2  # one context, one generator per group, not per subscriber
    for subscriber in (stalled, live, other):
        hub.close(subscriber)
    assert hub.groups == 0 and hub.subscriptions == 0
    await hub.stop()
    await feed.stop()
