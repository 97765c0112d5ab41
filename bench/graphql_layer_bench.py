"""What the GraphQL layer costs: a nested page through the gateway vs. hand-written SQL + JSON.

The page: the 50 latest conversations, each with its segments, their agent and customer. The
floor (`bench/graphql_floor.py`): one hand-written SQL statement (page CTE joined to segments,
agents, customers), rows folded into the same nested JSON in plain Python, `json.dumps`.

`--mode served` (the default) measures both through the production server over HTTP keep-alive
on loopback, alternating, in one run:

- `gateway`: `insights-gateway serve --workers 2`, authentication on, an admin JWT (HS256) on
  every request;
- `floor`: the floor in a minimal Starlette app on uvicorn with the same two workers, HTTP
  protocol class and event loop (httptools with TCP_NODELAY, uvloop), `POST /graphql` answered
  with the page.

Clients (one thread and one kept-alive connection each, `bench/keepalive.py`) ask one way then
the other, the first alternating between rounds. Prints the p50, p99, throughput and the
gateway/floor ratio (target 1.5x), and the machine's load averages.

`--mode in-process` measures without sockets, three ways: `sql+json` (the floor called
directly), `graphql` (`Schema.execute` plus `json.dumps`) and `http` (the whole ASGI app called
in-process with an API key); `--profile` then writes a pyinstrument profile of the gateway path
to bench/profile.html.

The gateway's answer is checked equal to the floor's before timing; the statement sorts as the
API documents (ties broken by the key ascending; a conversation's segments by `segmentOrder`,
empty last, then start and key).

    python bench/graphql_layer_bench.py [--database URL] [--rounds 6] [--clients 1,8]
    python bench/graphql_layer_bench.py --mode in-process [--rounds 200] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url

from bench.graphql_floor import baseline
from bench.keepalive import Cell, Endpoint, ask_once, load_average, run_batch
from bench.served import admin_token, free_port, serve_gateway, stop, wait_ready
from gateway.app import create_app
from gateway.settings import Settings
from resolvers.context import Context
from resolvers.viewer import Viewer
from schema import build_schema
from warehouse.api_keys import create_key, revoke_key
from warehouse.engine import create_engine

ROOT = Path(__file__).resolve().parent.parent

QUERY = """
{ conversations(first: 50, orderBy: [{field: STARTED_AT, direction: DESC}]) {
    nodes { conversationId direction startedAt
      segments(first: 50) { nodes {
        segmentId kind startedAt queue talkTime
        agent { agentId fullName }
        customer { customerId name } } } } } }
"""
BODY = json.dumps({"query": QUERY}).encode()


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

        async def send(message: MutableMapping[str, Any]) -> None:
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


async def in_process(args: argparse.Namespace) -> None:
    """The three in-process ways (no socket), alternating; medians and ratios to the floor."""
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


def serve_floor(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The floor's minimal server (`bench/graphql_floor.py`), two workers like the gateway."""
    sink = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bench.graphql_floor", "--database", url, "--port", str(port),
         "--workers", "2"],
        cwd=ROOT, stdout=sink, stderr=sink,
    )  # fmt: skip


def served(args: argparse.Namespace) -> None:
    """Both ways behind their servers, over HTTP keep-alive, in alternating rounds."""
    secret = secrets.token_hex(32)
    logs = Path(tempfile.mkdtemp(prefix="graphql-layer-bench-"))
    ports = {"gateway": free_port(), "floor": free_port()}
    client_counts = [int(c) for c in args.clients.split(",")]
    with ExitStack() as stack:
        gateway = serve_gateway(args.database, ports["gateway"], secret, logs / "gateway.log")
        stack.callback(stop, gateway)
        wait_ready(ports["gateway"], gateway, logs / "gateway.log", "/readyz")  # migrated first
        floor = serve_floor(args.database, ports["floor"], logs / "floor.log")
        stack.callback(stop, floor)
        wait_ready(ports["floor"], floor, logs / "floor.log", "/graphql", BODY)
        headers = {"content-type": "application/json", "accept": "application/json"}
        endpoints = {
            "floor": Endpoint("floor", ports["floor"], headers),
            "gateway": Endpoint(
                "gateway",
                ports["gateway"],
                headers | {"authorization": f"Bearer {admin_token(secret)}"},
            ),
        }
        expected = ask_once(endpoints["floor"], BODY)
        assert len(expected["conversations"]["nodes"]) == 50
        if ask_once(endpoints["gateway"], BODY) != expected:
            raise SystemExit("the gateway's answer differs from the floor's")
        segments = sum(len(c["segments"]["nodes"]) for c in expected["conversations"]["nodes"])
        print(
            f"page: 50 conversations, {segments} segments with agents and customers; answers equal"
        )
        print(f"database {make_url(args.database)!r}; {versions()}")
        for endpoint in endpoints.values():  # warm both workers' caches and pools
            run_batch(endpoint, BODY, clients=2, requests=args.warmup)

        print(f"measuring: {args.rounds} alternating rounds x {args.requests} requests per client;"
              f" before: {load_average()}", flush=True)  # fmt: skip
        cells: dict[tuple[str, int], Cell] = {}
        ways = ["floor", "gateway"]
        for round_ in range(args.rounds):
            for clients in client_counts:
                for way in ways if round_ % 2 == 0 else ways[::-1]:
                    batch = run_batch(endpoints[way], BODY, clients, args.requests)
                    cells.setdefault((way, clients), Cell()).batches.append(batch)
        print(f"after: {load_average()}")
    print_served(cells, client_counts)
    print(f"server logs: {logs}")


def print_served(cells: dict[tuple[str, int], Cell], client_counts: list[int]) -> None:
    print(
        f"{'way':<8} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'errors':>6} {'p50 / floor':>11}  per round"
    )
    for clients in client_counts:
        floor = cells[("floor", clients)]
        for way in ("floor", "gateway"):
            cell = cells[(way, clients)]
            per_round = ", ".join(
                f"{statistics.median(b.latencies) / statistics.median(f.latencies):.2f}"
                for b, f in zip(cell.batches, floor.batches, strict=True)
            )
            print(
                f"{way:<8} {clients:>7} {cell.p50() * 1000:>8.2f} {cell.p99() * 1000:>8.2f}"
                f" {cell.throughput():>7.0f} {cell.errors():>6} {cell.p50() / floor.p50():>10.2f}x"
                f"  [{per_round}]"
            )
    for clients in client_counts:
        ratio = cells[("gateway", clients)].p50() / cells[("floor", clients)].p50()
        print(f"gateway (served) / floor (served), {clients} client(s): {ratio:.2f}x (target 1.5x)")


def versions() -> str:
    names = ("uvicorn", "httptools", "uvloop", "starlette", "strawberry-graphql", "SQLAlchemy")
    return f"Python {sys.version.split()[0]}, " + ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in names
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", default="sqlite+aiosqlite:////tmp/bench-prod.db")
    parser.add_argument("--mode", choices=["served", "in-process"], default="served")
    parser.add_argument("--rounds", type=int, help="default: 6 served, 200 in-process")
    parser.add_argument("--requests", type=int, default=50, help="served: per client per batch")
    parser.add_argument("--clients", default="1,8", help="served: client counts, comma-separated")
    parser.add_argument("--warmup", type=int, default=30, help="served: requests per way")
    parser.add_argument(
        "--profile", action="store_true", help="in-process: write bench/profile.html"
    )
    args = parser.parse_args()
    if args.mode == "served":
        args.rounds = args.rounds or 6
        served(args)
    else:
        args.rounds = args.rounds or 200
        asyncio.run(in_process(args))


if __name__ == "__main__":
    main()
