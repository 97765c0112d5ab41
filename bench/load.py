"""Bounded load on a served gateway: concurrent dashboard clients on loopback, then it stops.

Starts `insights-gateway serve --workers N` on a free port against the benchmark database, runs
`--clients` concurrent clients for `--duration` seconds (or until `--requests` answers), each
cycling through a weighted mix of dashboard queries and reports over the last day of data (a
window that moves with the clock, as a wallboard's "last 24 hours" does; `--window fixed` keeps
it put) and TaskRouter event callbacks (`POST /events`, new tasks each time), then asks the
typical dashboard query alone (sequentially) as many times as it was asked under load, so both
p99s come from samples of one size. Prints throughput, p50/p95/p99 and errors overall and per
query, and the typical query's p99 under load against its p99 alone (target: within 5x).

    insights-gateway demo --segments 1000000 --days 14 --database sqlite+aiosqlite:////tmp/bench-prod.db
    python bench/load.py [--database URL] [--workers 2] [--clients 4] [--duration 30] [--window fixed]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_key import bench_key
from bench.keepalive import load_average

ROOT = Path(__file__).resolve().parent.parent
TYPICAL = "recent_conversations"

METRICS = """conversations handledConversations abandonedConversations abandonedConversationsRate
  averageSpeedOfAnswer averageHandlingTime averageQueueTime longestQueueTime"""

QUERIES: dict[str, tuple[int, str]] = {
    # name: (weight, document); $from/$to cover the last day of data
    TYPICAL: (
        4,
        """query($from: DateTime!) {
  conversations(first: 20, orderBy: [{field: STARTED_AT, direction: DESC}],
                filter: {startedAt: {gte: $from}}) {
    nodes { conversationId startedAt direction
      segments { nodes { kind queue queueTime talkTime agent { fullName team { name } } } } } } }""",
    ),
    "queue_board": (
        2,
        """query($from: DateTime!, $to: DateTime!) {
  queues(first: 50) { nodes { name metrics(from: $from, to: $to) { %s } } } }"""
        % METRICS,
    ),
    "team_board": (
        2,
        """query($from: DateTime!, $to: DateTime!) {
  teams(first: 50) { nodes { name department { name }
    metrics(from: $from, to: $to) { handledConversations averageHandlingTime talkTime } } } }""",
    ),
    "agent_list": (
        2,
        """query($from: DateTime!) {
  agents(first: 25, orderBy: [{field: FULL_NAME, direction: ASC}]) { totalCount
    nodes { agentId fullName team { name }
      segments(first: 5, filter: {startedAt: {gte: $from}},
               orderBy: [{field: STARTED_AT, direction: DESC}]) { nodes { kind startedAt } } } } }""",
    ),
    "intraday_report": (
        1,
        """query($from: DateTime!, $to: DateTime!) {
  report(groupBy: [QUEUE, INTERVAL_15_MINUTES], from: $from, to: $to,
         orderBy: [{metric: QUEUE_SEGMENTS, direction: DESC}], first: 50) {
    rows { key { queue interval15Minutes } metrics { queueSegments serviceLevel } }
    total { queueSegments serviceLevel } } }""",
    ),
    "long_waits": (
        1,
        """query($from: DateTime!) {
  segments(filter: {and: [{kind: {eq: QUEUE}}, {queueTime: {gt: 120}}, {startedAt: {gte: $from}}]}) {
    totalCount } }""",
    ),
}


INGEST = "event_ingest"
INGEST_WEIGHT = 1


def task_events(rng: random.Random, at: datetime) -> list[dict[str, Any]]:
    """One new task's events, as TaskRouter's callback posts them: queued, then abandoned."""
    task = f"WT{rng.getrandbits(128):032x}"
    start = int(at.timestamp())
    base = {"TaskSid": task, "TaskQueueName": "Support", "TaskChannelUniqueName": "voice",
            "TaskAttributes": '{"direction": "inbound", "from": "+447700900123"}'}  # fmt: skip
    steps = [("task.created", 0), ("task-queue.entered", 1), ("task.canceled", 40)]
    return [
        base
        | {
            "EventType": kind,
            "Sid": f"EV{rng.getrandbits(128):032x}",
            "Timestamp": str(start + offset),
            "TaskAge": str(offset),
            "TaskCanceledReason": "hangup",
        }
        for kind, offset in steps
    ]


async def post_events(client: httpx.AsyncClient, rng: random.Random, at: datetime) -> Sample:
    """A TaskRouter event callback: stored and applied before the answer."""
    started = time.perf_counter()
    try:
        response = await client.post("/events", json=task_events(rng, at))
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            return Sample(INGEST, elapsed, False, f"{response.status_code} {response.text[:200]}")
        return Sample(INGEST, elapsed, True)
    except httpx.HTTPError as error:
        return Sample(INGEST, time.perf_counter() - started, False, repr(error))


@dataclass
class Sample:
    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Stats:
    samples: list[Sample] = field(default_factory=list)

    def of(self, name: str | None = None) -> list[float]:
        return sorted(s.seconds for s in self.samples if s.ok and (name is None or s.name == name))

    def errors(self, name: str | None = None) -> list[Sample]:
        return [s for s in self.samples if not s.ok and (name is None or s.name == name)]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[max(0, int(q * 1000) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ask(client: httpx.AsyncClient, name: str, variables: dict[str, Any]) -> Sample:
    started = time.perf_counter()
    try:
        response = await client.post(
            "/graphql", json={"query": QUERIES[name][1], "variables": variables}
        )
        elapsed = time.perf_counter() - started
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            return Sample(name, elapsed, False, f"{response.status_code} {body.get('errors')}")
        return Sample(name, elapsed, True)
    except (httpx.HTTPError, ValueError) as error:
        return Sample(name, time.perf_counter() - started, False, repr(error))


async def wait_ready(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    raise SystemExit("server did not become ready")


@dataclass
class Window:
    """The last day of data, as dashboards look at recent traffic. A sliding window moves with
    the clock, as a wallboard's "last 24 hours" does: each request's `$from`/`$to` are new."""

    last: datetime
    sliding: bool
    started: float = field(default_factory=time.monotonic)

    def variables(self) -> dict[str, str]:
        to = self.last
        if self.sliding:
            to += timedelta(seconds=round(time.monotonic() - self.started, 3))
        return {"from": (to - timedelta(days=1)).isoformat(), "to": to.isoformat()}


async def window(client: httpx.AsyncClient, sliding: bool) -> Window:
    """The window ending at the latest conversation. (A conversation whose task was created but
    not yet queued, as an earlier run may leave, has no start: it sorts first.)"""
    response = await client.post(
        "/graphql",
        json={
            "query": "{ conversations(first: 1, orderBy: [{field: STARTED_AT, direction: DESC}],"
            " filter: {startedAt: {isNull: false}}) { nodes { startedAt } } }"
        },
    )
    last = datetime.fromisoformat(response.json()["data"]["conversations"]["nodes"][0]["startedAt"])
    return Window(last, sliding)


async def run_load(args: argparse.Namespace, base_url: str, token: str) -> None:
    limits = httpx.Limits(max_connections=args.clients + 2, max_keepalive_connections=args.clients)
    headers = {"authorization": f"Bearer {token}"}  # authentication on, as in production
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60, limits=limits, headers=headers
    ) as client:
        span = await window(client, args.window == "sliding")
        # warm each worker's caches a little: the clients' connections at once, so they are all
        # open (the load reuses them) and spread over the workers as the load will find them
        for name in QUERIES:
            for _ in range(args.workers):
                await asyncio.gather(
                    *(ask(client, name, span.variables()) for _ in range(args.clients))
                )

        print(f"before: {load_average()}", flush=True)
        load = Stats()
        mix = [name for name, (weight, _) in QUERIES.items() for _ in range(weight)]
        mix += [INGEST] * INGEST_WEIGHT
        now = span.last
        stop_at = time.monotonic() + args.duration
        budget = [args.requests or sys.maxsize]

        async def worker(index: int) -> None:
            rng = random.Random(index)
            while time.monotonic() < stop_at and budget[0] > 0:
                budget[0] -= 1
                name = rng.choice(mix)
                if name == INGEST:
                    load.samples.append(await post_events(client, rng, now))
                else:
                    load.samples.append(await ask(client, name, span.variables()))

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(args.clients)))
        elapsed = time.perf_counter() - started
        print(f"after: {load_average()}")
        # then alone, as many times as under load: both p99s are read from samples of one size
        await asyncio.sleep(1)
        runs = args.alone or len(load.of(TYPICAL))
        alone = Stats([await ask(client, TYPICAL, span.variables()) for _ in range(runs)])

    total = len(load.samples)
    print(
        f"load: {args.clients} clients, {args.workers} workers, {elapsed:.1f} s, {total} requests,"
        f" {total / elapsed:.1f} req/s, {len(load.errors())} errors"
    )
    print(f"{'query':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for name in [*QUERIES, INGEST, None]:
        values = load.of(name)
        print(
            f"{name or 'all':<22} {len(values):>5} {percentile(values, 0.5) * 1000:>8.1f}"
            f" {percentile(values, 0.95) * 1000:>8.1f} {percentile(values, 0.99) * 1000:>8.1f}"
            f" {len(load.errors(name)):>6}"
        )
    for sample in load.errors()[:5]:
        print(f"  error in {sample.name}: {sample.detail[:200]}")
    alone_p99 = percentile(alone.of(TYPICAL), 0.99)
    loaded_p99 = percentile(load.of(TYPICAL), 0.99)
    print(
        f"{TYPICAL} alone: p50 {percentile(alone.of(TYPICAL), 0.5) * 1000:.1f} ms,"
        f" p99 {alone_p99 * 1000:.1f} ms ({len(alone.of(TYPICAL))} runs, {len(alone.errors())} errors)"
    )
    print(f"{TYPICAL} p99 under load / alone: {loaded_p99 / alone_p99:.2f}x (target 5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite+aiosqlite:////tmp/bench-prod.db")
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--requests", type=int, default=0, help="stop after this many (0: none)")
    parser.add_argument(
        "--alone",
        type=int,
        default=0,
        help="runs of the typical query alone, after the load (default: as many as under load)",
    )
    parser.add_argument(
        "--window",
        choices=["sliding", "fixed"],
        default="sliding",
        help="the dashboards' last day moves with the clock (as wallboards do), or stays put",
    )
    args = parser.parse_args()

    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"insights-load-{port}.log"
    with log.open("wb") as sink, bench_key(args.database, "bench/load.py") as token:
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--auth", "on", "--port", str(port),
             "--workers", str(args.workers), "--database", args.database,
             "--log-level", "warning"],
            cwd=ROOT, stdout=sink, stderr=sink,
        )  # fmt: skip
        try:
            base_url = f"http://127.0.0.1:{port}"

            async def go() -> None:
                async with httpx.AsyncClient(base_url=base_url) as probe:
                    await wait_ready(probe, server)
                await run_load(args, base_url, token)

            asyncio.run(go())
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"server log: {log}")


if __name__ == "__main__":
    main()
