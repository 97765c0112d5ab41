"""One ingest transaction at a time per process; the requests arriving meanwhile share the next.

`POST /events` carries one event per request when TaskRouter calls back, so a busy center sends
tens of requests a second. Each transaction takes the database's write lock (warehouse/ingest.py,
`write_lock`), so concurrent requests of one process would only queue for it, each paying a
transaction of its own (and on SQLite the lock's busy handler sleeps in steps of up to 100 ms
while it waits). Here a request joins a queue: while one transaction runs, the requests that
arrive wait, and the next transaction applies all of them together (up to `max_events` events),
each request in a savepoint with its own counts, so each still gets its own answer and one
request's failure costs the others nothing (warehouse/ingest.py, `Ingestor.apply_each`). A
lone request is written at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from warehouse.ingest import DEFAULT_BATCH, IngestCounts, Ingestor, RawEvent

Waiting = tuple[Sequence[RawEvent], "asyncio.Future[IngestCounts]"]


class IngestQueue:
    """The process's writer for event requests: one transaction at a time, requests batched."""

    def __init__(self, ingestor: Ingestor, max_events: int = DEFAULT_BATCH) -> None:
        self.ingestor = ingestor
        self.max_events = max_events
        self.transactions = 0  # how many transactions the queue ran (tests, diagnostics)
        self._waiting: deque[Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def apply(self, raw: Sequence[RawEvent]) -> IngestCounts:
        """Store `raw` (one request's events) in the next transaction; its own counts.

        Raises what the transaction raised (a database error: nothing of the request is stored).
        A request abandoned before its transaction began is not written.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestCounts] = loop.create_future()
        self._waiting.append((raw, future))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write())
        return await future

    def _take(self) -> list[Waiting]:
        """The waiting requests the next transaction applies (at least one, if any waits)."""
        taken: list[Waiting] = []
        events = 0
        while self._waiting:
            raw, future = self._waiting[0]
            if taken and events + len(raw) > self.max_events:
                break
            self._waiting.popleft()
            if not future.done():  # its request was abandoned: nothing to answer
                taken.append((raw, future))
                events += len(raw)
        return taken

    async def _write(self) -> None:
        while self._waiting:
            taken = self._take()
            if not taken:
                continue
            try:
                self.transactions += 1
                outcomes = await self.ingestor.apply_each([raw for raw, _ in taken])
            except Exception as error:  # the whole transaction failed: every request with it
                outcomes = [error] * len(taken)
            except BaseException:  # cancelled (shutdown): nobody is left waiting for an answer
                for _, future in [*taken, *self._waiting]:
                    future.cancel()
                self._waiting.clear()
                raise
            for (_, future), outcome in zip(taken, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
