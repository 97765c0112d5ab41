"""Live subscriptions at scale: N WebSocket subscribers while events arrive at a steady rate.

Starts `insights-gateway serve` (authentication on, an HS256 secret) on a free loopback port
against a fresh database, opens `--subscribers` graphql-transport-ws connections spread over ten
distinct `realtime` documents and three roles (an admin, two supervisors, two agents: so about
fifty distinct subscriptions), then posts TaskRouter events to `POST /events` at `--rate` per
second for `--duration` seconds. Each event makes a call wait in one of the queues, so every
subscription's picture changes. Prints, for N subscribers and for a baseline of 10:

- latency from an event's `200` to each subscriber's update that shows it (p50, p99);
- SQL statements per commit run by subscriptions (`/metrics`: statements over commits seen);
- resident memory of the server per subscriber (RSS after connecting minus before, over N).

    python bench/subscriptions_bench.py [--subscribers 1000] [--rate 50] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import websockets

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 24
QUEUES = ["Sales", "Support", "Billing", "Technical", "Retention"]
FIELDS = [
    "queue waitingTasks longestWait",
    "queue waitingTasks agentsAvailable",
    "queue waitingTasks handledToday",
    "queue waitingTasks serviceLevelToday",
    "queue waitingTasks abandonedToday activeTasks",
]
# ten distinct documents: five selections, each over all queues or with a name filter
DOCUMENTS = [
    f"subscription {{ realtime {{ queues{flt} {{ {fields} }} }} }}"
    for fields in FIELDS
    for flt in (
        "",
        '(filter: {queue: {in: ["Sales", "Support", "Billing", "Technical", "Retention"]}})',
    )
]


def token(claims: dict[str, Any]) -> str:
    return jwt.encode({"exp": int(time.time()) + 3600, **claims}, SECRET)


ROLES = [
    token({"sub": "admin", "role": "admin"}),
    token({"sub": "sup-1", "role": "supervisor", "teamIds": ["Sales"]}),
    token({"sub": "sup-2", "role": "supervisor", "teamIds": ["Support"]}),
    token({"sub": "agent-1", "role": "agent", "agentId": "WKbench1"}),
    token({"sub": "agent-2", "role": "agent", "agentId": "WKbench2"}),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))  # type: ignore[union-attr]


def metric(text: str, name: str) -> float:
    return sum(
        float(m.group(2))
        for m in re.finditer(rf"^{re.escape(name)}(\{{[^}}]*\}})? ([0-9.e+-]+)$", text, re.M)
    )


@dataclass
class Subscriber:
    document: int
    role: int
    waiting_seen: dict[str, int] = field(default_factory=dict)
    updates: list[tuple[float, int]] = field(default_factory=list)  # (arrival, total waiting)


async def subscribe(url: str, sub: Subscriber, ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],
        open_timeout=60,
        ping_interval=None,  # type: ignore[list-item]
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {ROLES[sub.role]}"},
                }
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": DOCUMENTS[sub.document]}}
            )
        )
        first = True
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            arrived = time.monotonic()
            message = json.loads(raw)
            if message.get("type") != "next":
                raise RuntimeError(message)
            queues = message["payload"]["data"]["realtime"]["queues"]
            total = sum(q["waitingTasks"] for q in queues)
            if first:
                first = False
                ready.set()
            else:
                sub.updates.append((arrived, total))


async def run(
    n: int, rate: float, duration: float, database: str, workers: int
) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INSIGHTS_JWT_SECRET": SECRET,
        "INSIGHTS_MAX_SUBSCRIPTIONS": "100000",
        "INSIGHTS_LOG_LEVEL": "warning",
    }
    log = open(os.devnull, "w")  # noqa: SIM115 (closed below, after the server stops)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--auth", "on", "--port", str(port),
         "--workers", str(workers), "--database", database, "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    admin = {"Authorization": f"Bearer {ROLES[0]}"}
    try:
        async with httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            before_rss = rss_kib(server.pid)
            subs = [
                Subscriber(i % len(DOCUMENTS), (i // len(DOCUMENTS)) % len(ROLES)) for i in range(n)
            ]
            stop = asyncio.Event()
            readies = [asyncio.Event() for _ in subs]
            ws_url = base.replace("http", "ws") + "/graphql"
            tasks = []
            for sub, ready in zip(subs, readies, strict=True):
                tasks.append(asyncio.create_task(subscribe(ws_url, sub, ready, stop)))
                if len(tasks) % 50 == 0:
                    await asyncio.sleep(0.05)  # do not flood the accept queue
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
            await asyncio.sleep(1.0)
            after_rss = rss_kib(server.pid)
            metrics_before = (await http.get("/metrics")).text
            posted: list[tuple[float, int]] = []  # (200 arrival, waiting total after it)
            interval = 1.0 / rate
            started = time.monotonic()
            sent = 0
            while time.monotonic() - started < duration:
                at = int(time.time())
                sid = f"WTbench{n}x{sent:06d}"
                queue = QUEUES[sent % len(QUEUES)]
                attributes = json.dumps({"direction": "inbound"})
                events = [{"EventType": "task-queue.entered", "Timestamp": at, "TaskSid": sid,
                           "TaskQueueName": queue, "TaskChannelUniqueName": "voice",
                           "TaskAttributes": attributes}]  # fmt: skip
                answer = await http.post("/events", json=events)
                assert answer.status_code == 200, answer.text
                sent += 1
                posted.append((time.monotonic(), sent))
                await asyncio.sleep(max(0.0, started + sent * interval - time.monotonic()))
            await asyncio.sleep(2.0)
            metrics_after = (await http.get("/metrics")).text
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    # an admin's all-queue subscriber sees the total waiting; the k-th event raised it to k
    latencies = []
    for sub in subs:
        if sub.role != 0 or sub.document % 2 == 1:
            continue
        seen = 0
        for arrived, total in sub.updates:
            for k in range(seen + 1, min(total, len(posted)) + 1):
                latencies.append(arrived - posted[k - 1][0])
            seen = max(seen, total)
    latencies.sort()
    statements = metric(metrics_after, "insights_subscription_statements_total") - metric(
        metrics_before, "insights_subscription_statements_total"
    )
    return {
        "subscribers": n,
        "events": sent,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "groups": metric(metrics_after, "insights_subscription_groups"),
        "computations": metric(metrics_after, "insights_subscription_computations_total")
        - metric(metrics_before, "insights_subscription_computations_total"),
        "statements_per_commit": statements / max(sent, 1),
        "kib_per_subscriber": (after_rss - before_rss) / n,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for n in (args.baseline, args.subscribers):
        with tempfile.TemporaryDirectory() as directory:
            database = f"sqlite+aiosqlite:///{directory}/bench.db"
            subprocess.run(
                [sys.executable, "-m", "gateway", "db", "upgrade", "--database", database],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            rows.append(await run(n, args.rate, args.duration, database, args.workers))
    print(f"{'subscribers':>11} {'groups':>6} {'events':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'stmts/commit':>12} {'stmts/commit/group':>18} {'KiB/sub':>8}")  # fmt: skip
    for r in rows:
        per_group = r["statements_per_commit"] / max(r["groups"], 1)
        print(f"{r['subscribers']:>11.0f} {r['groups']:>6.0f} {r['events']:>6.0f} "
              f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['statements_per_commit']:>12.1f} "
              f"{per_group:>18.2f} {r['kib_per_subscriber']:>8.1f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
