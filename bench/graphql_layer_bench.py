"""What the GraphQL layer costs: a nested page through the gateway vs. hand-written SQL + JSON.

The page: the 50 latest conversations, each with its segments, their agent and customer. Three
ways, same database, same run, alternating so drift hits all alike:

- `sql+json`: one hand-written SQL statement (page CTE joined to segments, agents, customers),
  rows folded into the same nested JSON in plain Python, `json.dumps`. The floor.
- `graphql`: `Schema.execute` (loaders, page statements) plus `json.dumps` of the result.
- `http`: the whole ASGI app (`POST /graphql`: middleware, authentication with an API key, HTTP
  layer, execution, encoding), called in-process without a socket.

The gateway's answer is checked equal to the baseline's before timing; the statement sorts as the
API documents (ties broken by the key ascending; a conversation's segments by `segmentOrder`, empty
last, then start and key). Prints medians and ratios;
`--profile` writes a pyinstrument profile of the gateway path to bench/profile.html.

    python bench/graphql_layer_bench.py [--database URL] [--rounds 200] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from gateway.app import create_app
from gateway.settings import Settings
from resolvers.cancel import read_in_thread
from resolvers.context import Context
from resolvers.viewer import Viewer
from schema import build_schema
from warehouse.api_keys import create_key, revoke_key
from warehouse.engine import create_engine, thread_reader

QUERY = """
{ conversations(first: 50, orderBy: [{field: STARTED_AT, direction: DESC}]) {
    nodes { conversationId direction startedAt
      segments(first: 50) { nodes {
        segmentId kind startedAt queue talkTime
        agent { agentId fullName }
        customer { customerId name } } } } } }
"""

SQL = """
WITH page AS (
  SELECT conversation_id, direction, started_at FROM conversations
  ORDER BY started_at DESC, conversation_id LIMIT 50
)
SELECT p.conversation_id, p.direction, p.started_at,
       s.segment_id, s.kind, s.started_at AS s_started_at, s.queue, s.talk_time,
       a.agent_id, a.full_name, c.customer_id, c.name AS customer_name
FROM page p
LEFT JOIN segments s ON s.conversation_id = p.conversation_id
LEFT JOIN agents a ON a.agent_id = s.agent_id
LEFT JOIN customers c ON c.customer_id = s.customer_id
ORDER BY p.started_at DESC, p.conversation_id,
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


class Runner:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.schema = build_schema()
        settings = Settings(database_url=url, graphiql=False, auth="on")  # as in production
        self.options = settings.options()
        self.app = create_app(settings, engine=self.engine)
        self.body = json.dumps({"query": QUERY}).encode()
        self.token = b""  # an admin API key, made by `main`

    async def new_key(self) -> str:
        key, text = await create_key(self.engine, "admin", label="bench/graphql_layer_bench.py")
        self.token = text.encode()
        return key.key_id

    async def graphql(self) -> bytes:
        result = await self.schema.execute(
            QUERY,
            context_value=Context(engine=self.engine, viewer=Viewer.system(), options=self.options),
        )
        assert result.errors is None, result.errors
        payload = {"data": result.data}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    async def http(self) -> bytes:
        """POST /graphql through the ASGI app, no socket."""
        chunks: list[bytes] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200, message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"content-type", b"application/json"),
                (b"accept", b"application/json"),
                (b"authorization", b"Bearer " + self.token),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        await self.app(scope, receive, send)
        return b"".join(chunks)


async def timed(fn: Any) -> float:
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite+aiosqlite:////tmp/bench-prod.db")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="write bench/profile.html")
    args = parser.parse_args()

    runner = Runner(args.database)
    key_id = await runner.new_key()
    floor = json.loads(await baseline(runner.engine))
    assert len(floor["data"]["conversations"]["nodes"]) == 50
    assert json.loads(await runner.graphql()) == floor, "gateway and baseline disagree"
    assert json.loads(await runner.http()) == floor, "HTTP answer and baseline disagree"
    segments = sum(len(c["segments"]["nodes"]) for c in floor["data"]["conversations"]["nodes"])
    print(f"page: 50 conversations, {segments} segments with agents and customers")

    async def base() -> bytes:
        return await baseline(runner.engine)

    ways = {"sql+json": base, "graphql": runner.graphql, "http": runner.http}
    for fn in ways.values():  # warm caches and pools
        for _ in range(10):
            await fn()
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, fn in ways.items():
            times[name].append(await timed(fn))

    floor_median = statistics.median(times["sql+json"])
    print(f"{'way':<10} {'median ms':>10} {'p90 ms':>8} {'ratio':>6}")
    for name, samples in times.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:<10} {median * 1000:>10.2f} {p90 * 1000:>8.2f} {median / floor_median:>6.2f}")
    ratio = statistics.median(times["http"]) / floor_median
    print(f"gateway (http) / hand-written SQL+JSON: {ratio:.2f}x (target 3x)")

    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled", interval=0.0005)
        with profiler:
            for _ in range(50):
                await runner.http()
        out = Path(__file__).resolve().parent / "profile.html"
        out.write_text(profiler.output_html())
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"profile written to {out}")
    await revoke_key(runner.engine, key_id)
    await runner.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
