"""Live pictures: per viewer, one task computes each change's picture ahead of its subscriptions.

A live `realtime` subscription used to compute its picture itself when it woke for a change, and
the next computation waited for the one running (its SQL, then the execution of every document of
the viewer and the hand-over of the results). A change that arrived just after a computation began
thus waited for two whole passes. Here one task per (process, viewer) does only the SQL: on each
change it reads every part of the picture that the viewer's subscriptions read last time, all at
once, publishes the picture, and is free for the next change while the subscriptions execute
their documents and the transports send. A change therefore waits for at most the rest of one
SQL pass and the next (and the spacing between passes, `coalesce_seconds`), never for the sends.

The statements a change causes are those of one picture per viewer and process, whatever the
number of subscriptions and subscribers. A subscription that reads a part no one read before
(a new filter) computes it on the shared picture when it first asks (`Picture._once`), so the
prefetch is an optimisation, never a condition for a correct result.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from resolvers.context import Context
from resolvers.realtime import SHARED_FOR, Part, Picture, Reads, now
from resolvers.viewer import Viewer
from warehouse.changes import ChangeFeed

log = logging.getLogger("insights_gateway")

RETRY_SECONDS = 1.0
"""How long a feed waits after a pass that failed as a whole before it tries again."""

Counting = Callable[[], AbstractContextManager[list[int]]]
"""Counts the statements run inside its block (and the tasks it starts) into `box[0]`."""


@dataclass(eq=False)
class Reader:
    """One subscription reading a viewer's pictures: what its last result read (to prefetch)."""

    feed: ViewerPictures
    reads: Reads = field(default_factory=dict)

    async def pictures(self) -> AsyncIterator[Picture]:
        """The current picture at once, then each newer one (the latest when several came)."""
        feed = self.feed
        seen = 0  # numbers start at 1: the first picture published
        if feed.fresh():
            seen = feed.number
            yield feed.latest  # type: ignore[misc]
        else:
            feed.poke()
        while True:
            await feed.published_after(seen)
            seen = feed.number
            yield feed.latest  # type: ignore[misc]


@dataclass(eq=False)
class ViewerPictures:
    """One viewer's pictures in this process, computed by one task while anyone reads them."""

    ctx: Context
    changes: ChangeFeed
    counting: Counting | None = None
    on_statements: Callable[[int], None] | None = None
    readers: set[Reader] = field(default_factory=set)
    latest: Picture | None = None
    latest_version: int = -1
    number: int = 0
    task: asyncio.Task[None] | None = None
    _published: asyncio.Event = field(default_factory=asyncio.Event)
    _poked: asyncio.Event = field(default_factory=asyncio.Event)

    def fresh(self) -> bool:
        """Whether the latest picture shows every change heard of, and is recent."""
        latest = self.latest
        return (
            latest is not None
            and self.latest_version == self.changes.version
            and now(self.ctx) - latest._as_of < SHARED_FOR
        )

    def poke(self) -> None:
        """Ask for a picture now (a reader joined while the latest one is stale)."""
        self._poked.set()

    async def published_after(self, number: int) -> None:
        while self.number <= number:
            await self._published.wait()

    def start(self) -> None:
        # a context of its own: the statements it runs are counted here, not in the reader's
        # box that happened to start it, and its parts note nothing in a reader's `Reads`
        self.task = asyncio.get_running_loop().create_task(
            self._run(), context=contextvars.Context()
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        options = self.ctx.options
        while True:
            seen = self.changes.version
            began = loop.time()
            self._poked.clear()
            try:
                shown = await self._pass()
            except Exception:
                log.exception("live picture failed")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.latest, self.latest_version = shown, seen
            self.number += 1
            published, self._published = self._published, asyncio.Event()
            published.set()
            await self._next(seen, options.heartbeat_seconds)
            rest = options.coalesce_seconds - (loop.time() - began)
            if rest > 0:
                await asyncio.sleep(rest)

    async def _pass(self) -> Picture:
        """A picture of now with every part the readers read last time computed, concurrently."""
        box = contextlib.nullcontext([0]) if self.counting is None else self.counting()
        with box as counted:
            shown = Picture(self.ctx, self.ctx.viewer, now(self.ctx))
            wanted: dict[Any, Part] = {}
            for reader in self.readers:
                wanted.update((k, make) for k, make in reader.reads.items() if make is not None)
            # a part that fails stays failed in the picture: the documents report it
            await asyncio.gather(
                *(shown._once(key, make) for key, make in wanted.items()), return_exceptions=True
            )
        if self.on_statements is not None:
            self.on_statements(counted[0])
        return shown

    async def _next(self, seen: int, heartbeat: float) -> None:
        """Until a change after `seen`, a reader's poke, or the heartbeat (`longestWait`)."""
        if self.changes.version > seen or self._poked.is_set():
            return
        waits = [
            asyncio.ensure_future(self.changes.wait(seen, heartbeat)),
            asyncio.ensure_future(self._poked.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()


class LivePictures:
    """The process's live pictures, by viewer (fail closed: the viewer is the key, never a
    default, so no subscription ever reads a picture computed for another viewer)."""

    def __init__(
        self,
        *,
        counting: Counting | None = None,
        on_statements: Callable[[int], None] | None = None,
    ) -> None:
        self.counting = counting
        self.on_statements = on_statements
        self._feeds: dict[Viewer, ViewerPictures] = {}

    @property
    def viewers(self) -> int:
        return len(self._feeds)

    @contextlib.contextmanager
    def reader(self, ctx: Context, changes: ChangeFeed) -> Any:
        """Read the pictures of `ctx.viewer` while inside; the last reader out stops its task."""
        viewer = ctx.viewer
        feed = self._feeds.get(viewer)
        if feed is None:
            own = Context(engine=ctx.engine, viewer=viewer, options=ctx.options, changes=changes)
            feed = ViewerPictures(own, changes, self.counting, self.on_statements)
            self._feeds[viewer] = feed
            feed.start()
        reader = Reader(feed)
        feed.readers.add(reader)
        try:
            yield reader
        finally:
            feed.readers.discard(reader)
            if not feed.readers and self._feeds.get(viewer) is feed:
                del self._feeds[viewer]
                if feed.task is not None:
                    feed.task.cancel()
