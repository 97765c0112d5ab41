"""The root Subscription: `realtime` and a live `report`, pushed when the warehouse changes.

Each field is an async generator that yields at once, then as soon as a commit changed the
warehouse (a burst of commits coalesced) and on a heartbeat; the transport
(gateway/subscriptions.py) shares one generator among subscribers with the same document,
variables and viewer, and sends a result on only when it differs from the one before.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from resolvers.dates import zone_named
from resolvers.live_pictures import LivePictures
from resolvers.metrics.compute import in_zone
from resolvers.realtime import Picture, Reads, note_reads, now, picture
from schema.base import context
from schema.declare import arguments_of, declared_field
from schema.realtime import Realtime
from schema.report import Report, ReportArguments, resolve_report


async def _moments(info: Info) -> AsyncIterator[None]:
    """When to compute again; every moment reads the warehouse afresh (no loader cache)."""
    ctx = context(info)
    if ctx.changes is None:  # executed outside a served gateway: one picture
        yield
        return
    ctx.changes.start()
    await ctx.changes.listening()
    options = ctx.options
    async for _ in ctx.changes.ticks(options.coalesce_seconds, options.heartbeat_seconds):
        ctx.clear_loaders()
        yield


def _past(end: datetime | None, time_zone: str | None, info: Info) -> bool:
    """Whether the range ends before now, its `to` read as the report reads it."""
    ctx = context(info)
    instant = in_zone(end, zone_named(time_zone, ctx.options.timezone))
    return instant is not None and instant <= now(ctx)


async def _live_report(info: Info, **values: Any) -> AsyncGenerator[Report | None, None]:
    arguments = ReportArguments(**values)
    async for _ in _moments(info):
        yield await resolve_report(info, arguments)
        if _past(arguments.end, arguments.time_zone, info):
            return  # a range wholly in the past never changes: one result, then complete


def live_report_field() -> StrawberryField:
    return declared_field(
        _live_report,
        returns=Report | None,  # nullable like the query's: an error leaves the stream going
        arguments=arguments_of(ReportArguments),
        description="The `report` query, live: the same arguments and result, sent at once and "
        "again whenever a committed ingest changes it; a `to` in the past sends one result.",
        subscription=True,
    )


@strawberry.type(description="Live results, pushed when the warehouse changes.")
class Subscription:
    report = live_report_field()

    @strawberry.subscription(
        description="The live queue view: sent at once, again whenever a committed ingest "
        "changes what the selection shows (a lone change at once, a burst of changes ten times "
        "a second at most), and re-checked at least every 15 s so `longestWait` moves."
    )
    async def realtime(self, info: Info) -> AsyncGenerator[Realtime | None, None]:
        ctx = context(info)
        if ctx.changes is None:  # executed outside a served gateway: one picture
            yield Realtime(_picture=picture(ctx, ctx.viewer))
            return
        ctx.changes.start()
        await ctx.changes.listening()
        earlier: Picture | None = None
        reads: Reads = {}
        # the viewer's pictures are computed by one task of the process, ahead of this one
        shared = ctx.live_pictures if ctx.live_pictures is not None else LivePictures()
        with shared.reader(ctx, ctx.changes) as reader:
            async for shown in reader.pictures():
                ctx.clear_loaders()
                if earlier is not None and reads and await shown.shows_as(earlier, reads):
                    continue  # every part the last result read is unchanged: so is the result
                earlier, reads = shown, {}
                reader.reads = reads  # what the feed computes ahead for the next change
                note_reads(reads)  # the execution of this result notes what it reads
                yield Realtime(_picture=shown)
