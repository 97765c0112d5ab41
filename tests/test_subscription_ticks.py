"""When a live subscription computes: a lone change at once (no trailing delay), the changes of a
burst together, no sooner than the spacing after the tick before, and on a heartbeat."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import create_async_engine

from warehouse.changes import ChangeFeed

SPACING = 0.6


async def test_a_lone_change_ticks_at_once_and_a_burst_ticks_once_after_the_spacing() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    feed = ChangeFeed(engine)  # not started: the test announces the changes itself
    loop = asyncio.get_running_loop()
    ticks = aiter(feed.ticks(SPACING, heartbeat=60))
    await anext(ticks)  # at once
    await asyncio.sleep(SPACING + 0.1)  # a quiet moment, longer than the spacing

    changed = loop.time()
    feed.bump()
    await asyncio.wait_for(anext(ticks), 5)
    began = loop.time()
    assert began - changed < SPACING / 2  # the change was not held back by the spacing

    for _ in range(5):  # a burst while the caller works on the tick (0.5 s of work)
        feed.bump()
        await asyncio.sleep(0.1)
    await asyncio.wait_for(anext(ticks), 5)
    # the burst made the next tick the spacing after the last one began, not after it ended
    assert SPACING - 0.01 <= loop.time() - began < SPACING + 0.35
    with_nothing_new = asyncio.ensure_future(anext(ticks))
    await asyncio.sleep(SPACING + 0.3)
    assert not with_nothing_new.done()  # the burst made one tick, not five
    feed.bump()
    await asyncio.wait_for(with_nothing_new, 5)
    await engine.dispose()


async def test_no_change_ticks_on_the_heartbeat() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    feed = ChangeFeed(engine)
    loop = asyncio.get_running_loop()
    ticks = aiter(feed.ticks(0.0, heartbeat=0.5))
    await anext(ticks)
    started = loop.time()
    await asyncio.wait_for(anext(ticks), 5)
    assert 0.45 <= loop.time() - started < 3
    await engine.dispose()
