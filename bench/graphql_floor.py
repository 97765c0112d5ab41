"""The floor of bench/graphql_layer_bench.py: the nested page as one hand-written SQL statement,
rows folded into the API's JSON in plain Python; and a minimal server that answers with it.

Conversations without a start (ingested tasks not yet offered) come first in a descending
order, as the API sorts them (and PostgreSQL does, SQLite not): the statement takes the top rows
of both groups, each from the index, and merges them.

The server is what the floor costs when it is served the way the gateway is: a Starlette app on
uvicorn with the same two worker processes, the same HTTP protocol class and the same event loop
as `insights-gateway serve` (`gateway.serving`: httptools with TCP_NODELAY, uvloop), reading its request body as JSON and answering `POST /graphql` with the page. No GraphQL, no
authentication, no middleware.

    python -m bench.graphql_floor --database URL --port 8001   # (graphql_layer_bench starts it)
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from resolvers.cancel import read_in_thread
from warehouse.engine import create_engine, thread_reader

SQL = """
WITH page AS (
  SELECT * FROM (
    SELECT * FROM (SELECT 0 AS nulls, conversation_id, direction, started_at FROM conversations
                   WHERE started_at IS NULL ORDER BY conversation_id LIMIT 50) n
    UNION ALL
    SELECT * FROM (SELECT 1 AS nulls, conversation_id, direction, started_at FROM conversations
                   WHERE started_at IS NOT NULL ORDER BY started_at DESC, conversation_id LIMIT 50) v
  ) both_groups ORDER BY nulls, started_at DESC, conversation_id LIMIT 50
)
SELECT p.conversation_id, p.direction, p.started_at,
       s.segment_id, s.kind, s.started_at AS s_started_at, s.queue, s.talk_time,
       a.agent_id, a.full_name, c.customer_id, c.name AS customer_name
FROM page p
LEFT JOIN segments s ON s.conversation_id = p.conversation_id
LEFT JOIN agents a ON a.agent_id = s.agent_id
LEFT JOIN customers c ON c.customer_id = s.customer_id
ORDER BY p.nulls, p.started_at DESC, p.conversation_id,
         (s.segment_order IS NULL), s.segment_order, s.started_at, s.segment_id
"""


def _instant(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


async def baseline(engine: Any) -> bytes:
    """One statement, folded into the API's nested shape, encoded.

    The statement runs the way the gateway runs its own: on SQLite in one worker-thread hop
    (`warehouse.engine.thread_reader`), so the floor is not raised by aiosqlite's hops.
    """
    reader = thread_reader(engine)
    if reader is not None:
        rows = await read_in_thread(reader, lambda conn: conn.execute(text(SQL)).all())
    else:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(SQL))).all()
    conversations: list[dict[str, Any]] = []
    by_id: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        segments = by_id.get(r.conversation_id)
        if segments is None:
            segments = by_id[r.conversation_id] = []
            conversations.append(
                {
                    "conversationId": r.conversation_id,
                    "direction": r.direction,
                    "startedAt": _instant(r.started_at),
                    "segments": {"nodes": segments},
                }
            )
        if r.segment_id is not None:
            segments.append(
                {
                    "segmentId": r.segment_id,
                    "kind": r.kind,
                    "startedAt": _instant(r.s_started_at),
                    "queue": r.queue,
                    "talkTime": r.talk_time,
                    "agent": None
                    if r.agent_id is None
                    else {"agentId": r.agent_id, "fullName": r.full_name},
                    "customer": None
                    if r.customer_id is None
                    else {"customerId": r.customer_id, "name": r.customer_name},
                }
            )
    payload = {"data": {"conversations": {"nodes": conversations}}}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def create_app() -> Starlette:
    """The floor server's app factory (uvicorn `--factory`): database URL from `FLOOR_DATABASE_URL`."""
    engine = create_engine(os.environ["FLOOR_DATABASE_URL"])

    async def page(request: Request) -> Response:
        json.loads(await request.body())  # what any JSON API does with its request
        return Response(await baseline(engine), media_type="application/json")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    return Starlette(routes=[Route("/graphql", page, methods=["POST"])], lifespan=lifespan)


def main() -> None:
    import uvicorn

    from gateway.serving import EVENT_LOOP, HTTP_PROTOCOL

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ["FLOOR_DATABASE_URL"] = args.database
    uvicorn.run(
        "bench.graphql_floor:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        http=HTTP_PROTOCOL,  # as `insights-gateway serve` runs
        loop=EVENT_LOOP,
    )


if __name__ == "__main__":
    main()
