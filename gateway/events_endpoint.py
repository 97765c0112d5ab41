"""`POST /events`: TaskRouter's event callback (or any client) delivering events over HTTP.

The answer is 2xx only after the batch is committed, so a TaskRouter retry is never needed for
an event the gateway already holds, and a retry of one it holds is ignored by its dedup key.
Events that cannot be understood are kept as dead letters before the 4xx goes out. Requests that
arrive while the process's previous ones are being written are written together, in the next
transaction, each with its own answer (warehouse/ingest_queue.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.observability import record_ingest
from warehouse.ingest import IngestCounts, RawEvent
from warehouse.ingest_queue import IngestQueue
from warehouse.taskrouter import BodyError, split_body

SOURCE = "http"
log = logging.getLogger(__name__)


def _answer(counts: IngestCounts) -> dict[str, object]:
    """The JSON answer for a handled batch; the batch is counted for `/metrics` here too."""
    record_ingest(applied=counts.applied, ignored=counts.ignored, rejected=counts.rejected)
    return {
        "read": counts.read,
        "applied": counts.applied,
        "ignored": counts.ignored,
        "rejected": counts.rejected,
        "errors": counts.problems,
    }


def events_endpoint(queue: IngestQueue) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The Starlette endpoint: 200 when every event was stored, 4xx naming what was wrong."""

    async def post_events(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            return await _handle(queue, body, request.headers.get("content-type"))
        except SQLAlchemyError as error:
            # the batch rolled back as a whole: nothing of it is stored, a retry is safe
            log.warning("events not stored, database unavailable: %s", type(error).__name__)
            return JSONResponse(
                {"error": "database unavailable: nothing was stored, retry later"},
                status_code=503,
            )

    return post_events


async def _handle(queue: IngestQueue, body: bytes, content_type: str | None) -> JSONResponse:
    try:
        texts = split_body(body, content_type)
    except BodyError as error:
        raw = body.decode("utf-8", errors="replace")
        counts = await queue.ingestor.reject(RawEvent(raw, SOURCE), str(error))
        return JSONResponse(_answer(counts) | {"error": str(error)}, status_code=400)
    if not texts:
        return JSONResponse({"error": "empty array: no events to ingest"}, status_code=400)
    counts = await queue.apply([RawEvent(text, SOURCE, n) for n, text in enumerate(texts, 1)])
    status = 422 if counts.rejected else 200
    return JSONResponse(_answer(counts), status_code=status)
