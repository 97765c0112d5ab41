"""Live subscriptions at scale: N WebSocket subscribers while events arrive at a steady rate.

Starts `insights-gateway serve --workers W` (authentication on, an HS256 secret) on a free loopback
port, against a fresh SQLite file or the PostgreSQL database given with `--database`, opens
`--subscribers` graphql-transport-ws connections spread over ten distinct `realtime` documents
and five viewers (an admin, two supervisors, two agents: about fifty distinct subscriptions)
from `--clients` client processes, then posts TaskRouter events to `POST /events` at `--rate` per
second for `--duration` seconds, on a fixed schedule over keep-alive connections (an event is
sent at its time even while earlier ones are still in flight). The events are calls: each enters
one of five queues, rings the queue's agent and is accepted (three events, one per request);
the five agents are in the supervisors' teams (two each; the fifth in a team of its own) and two
of them are the agent viewers, so every viewer's picture changes with the calls of its queues.
Before the subscribers connect, the agents log in and each takes one call, so every viewer's
queues are in its picture from the start. Prints, for N subscribers and for a baseline of 10:

- latency from the `200` of a call entering a queue to each measuring subscriber's update that
  shows it (p50, p99): the measuring subscribers are the admin's all-queue ones, whose total of
  waiting and active tasks counts the calls that entered; the same for the supervisors' and
  agents' all-queue subscribers (a fifth of them), over the calls of their own queues
  ("scoped");
- the rate the poster reached and its own `200` latency;
- SQL statements run by subscriptions per event (`/metrics`: statements over events; requests
  arriving together share a commit, so there are fewer commits than events);
- resident memory of the server (all its processes) per subscriber;
- the client processes' event-loop lag (p99, max): a busy client would add its own delay;
- the load average before and after each run (the machine may be shared).

    python bench/subscriptions_bench.py [--subscribers 1000] [--rate 50] [--duration 20]
        [--workers 2] [--clients 4] [--database sqlite|postgresql+asyncpg://…] [--repeat 3]
        [--profile DIR]

`--repeat R` runs each size R times and marks the run with the median p99. `--profile DIR`
records every server process with py-spy (`pip install py-spy`) while the events are posted and
writes its collapsed stacks (`worker-N-PID.txt`, the input of any flame graph tool). A PostgreSQL database is used as it is (the counts are relative to
the first picture), e.g. the throwaway one of `source .ci/postgres.sh && start_test_postgres`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import websockets

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 24
QUEUES = ["Sales", "Support", "Billing", "Technical", "Retention"]
# who takes each queue's calls, and their team (the supervisors' `teamIds`)
AGENT_OF = {"Sales": "WKbench1", "Support": "WKbench2", "Billing": "WKbench3",
            "Technical": "WKbench4", "Retention": "WKbench5"}  # fmt: skip
TEAM_OF = {"WKbench1": "Sales", "WKbench2": "Support", "WKbench3": "Sales",
           "WKbench4": "Support", "WKbench5": "Retention"}  # fmt: skip
# every selection shows waiting and active tasks: their sum counts the calls that entered
FIELDS = [
    "queue waitingTasks activeTasks longestWait",
    "queue waitingTasks activeTasks agentsAvailable",
    "queue waitingTasks activeTasks handledToday",
    "queue waitingTasks activeTasks serviceLevelToday",
    "queue waitingTasks activeTasks abandonedToday wrappingTasks",
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
CLAIMS: list[dict[str, Any]] = [
    {"sub": "admin", "role": "admin"},
    {"sub": "sup-1", "role": "supervisor", "teamIds": ["Sales"]},
    {"sub": "sup-2", "role": "supervisor", "teamIds": ["Support"]},
    {"sub": "agent-1", "role": "agent", "agentId": "WKbench1"},
    {"sub": "agent-2", "role": "agent", "agentId": "WKbench2"},
]


def token(claims: dict[str, Any]) -> str:
    return jwt.encode({"exp": int(time.time()) + 3600, **claims}, SECRET)


def document_of(i: int) -> int:
    return i % len(DOCUMENTS)


def role_of(i: int) -> int:
    """Every size spreads its subscribers over all five viewers (ten subscribers: two each), so
    the pictures computed, one per viewer and process, are the same at every size."""
    return (i + i // len(DOCUMENTS)) % len(CLAIMS)


def measures(i: int) -> bool:
    """The admin's all-queue subscribers, and a fifth of the scoped viewers' (all of them among
    the first fifty subscribers): their total of waiting and active tasks counts the calls that
    entered their queues (an accepted call moves from waiting to active). Every measuring
    subscriber parses every update; the fifth keeps the clients' own delay small."""
    if document_of(i) % 2:
        return False
    return role_of(i) == 0 or (i // len(DOCUMENTS)) % 5 == 0


def queues_seen(role: int) -> set[str]:
    """The queues a viewer's picture shows: all for the admin; for a supervisor those their
    team's agents take; for an agent their own."""
    claims = CLAIMS[role]
    if claims["role"] == "admin":
        return set(QUEUES)
    if claims["role"] == "supervisor":
        return {q for q, agent in AGENT_OF.items() if TEAM_OF[agent] in claims["teamIds"]}
    return {q for q, agent in AGENT_OF.items() if agent == claims["agentId"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (the uvicorn workers)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, AttributeError):
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return total


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def metric(text: str, name: str) -> float:
    return sum(
        float(m.group(2))
        for m in re.finditer(rf"^{re.escape(name)}(\{{[^}}]*\}})? ([0-9.e+-]+)$", text, re.M)
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the client processes --------------------------------------------------------------------


async def _subscriber(url: str, i: int, ready: asyncio.Event, out: dict[str, Any]) -> None:
    async with websockets.connect(
        url, subprotocols=["graphql-transport-ws"], open_timeout=120, ping_interval=None,  # type: ignore[list-item]
        max_queue=None,
    ) as ws:  # fmt: skip
        init = {"Authorization": f"Bearer {token(CLAIMS[role_of(i)])}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        subscribe = {"query": DOCUMENTS[document_of(i)]}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        measuring = measures(i)
        updates: list[tuple[float, int]] = []
        first = json.loads(await ws.recv())
        if first.get("type") != "next":
            raise RuntimeError(first)
        if measuring:
            queues = first["payload"]["data"]["realtime"]["queues"]
            out["base"][str(i)] = sum(q["waitingTasks"] + q["activeTasks"] for q in queues)
            out["updates"][str(i)] = updates
        ready.set()
        async for raw in ws:
            arrived = time.monotonic()
            out["messages"] += 1
            if measuring:
                message = json.loads(raw)
                if message.get("type") != "next":
                    raise RuntimeError(message)
                queues = message["payload"]["data"]["realtime"]["queues"]
                updates.append((arrived, sum(q["waitingTasks"] + q["activeTasks"] for q in queues)))


async def _lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late the client's event loop wakes a 10 ms sleep: its own share of the latency."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.01)
        samples.append(time.monotonic() - before - 0.01)


async def client(url: str, indices: list[int]) -> None:
    """Connect the given subscribers, say `ready`, read until `stop`, print what was seen."""
    out: dict[str, Any] = {"base": {}, "updates": {}, "messages": 0}
    readies = [asyncio.Event() for _ in indices]
    tasks = []
    for n, (i, ready) in enumerate(zip(indices, readies, strict=True)):
        tasks.append(asyncio.create_task(_subscriber(url, i, ready, out)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)  # do not flood the accept queue
    waiting = asyncio.gather(*(r.wait() for r in readies))
    done, _ = await asyncio.wait([waiting, *tasks], timeout=300, return_when="FIRST_COMPLETED")
    for task in done:
        if task is not waiting:
            task.result()  # a subscriber that failed before it was ready: raise its error
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    samples: list[float] = []
    lagging = asyncio.create_task(_lag(samples, stop))
    await loop.run_in_executor(None, sys.stdin.readline)
    out["messages_after_ready"] = out["messages"]
    stop.set()
    await lagging
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out["lag"] = samples
    print(json.dumps(out), flush=True)


# --- the run ---------------------------------------------------------------------------------


def _task_event(kind: str, sid: str, queue: str) -> dict[str, Any]:
    event = {"EventType": kind, "Timestamp": int(time.time()), "TaskSid": f"WT{sid}",
             "TaskQueueName": queue, "TaskChannelUniqueName": "voice",
             "TaskAttributes": json.dumps({"direction": "inbound"})}  # fmt: skip
    if kind.startswith("reservation."):
        event |= {"ReservationSid": f"WR{sid}", "WorkerSid": AGENT_OF[queue]}
    return event


CYCLE = ("task-queue.entered", "reservation.created", "reservation.accepted")
"""The events of one call, posted one per request: it waits, rings its queue's agent, is taken."""


def _setup_events(run_id: str) -> list[dict[str, Any]]:
    """The agents log in (each in a supervisor's team), and each has taken one call of their
    queue: every scoped viewer's picture has its queues before the subscribers connect."""
    at = int(time.time())
    events: list[dict[str, Any]] = []
    for agent, team in TEAM_OF.items():
        attributes = {"full_name": agent, "team_id": team, "team_name": team}
        events.append({"EventType": "worker.created", "Timestamp": at, "WorkerSid": agent,
                       "WorkerName": agent, "WorkerAttributes": json.dumps(attributes),
                       "WorkerActivityName": "Available"})  # fmt: skip
    for queue in QUEUES:
        events += [_task_event(kind, f"{run_id}w{queue}", queue) for kind in CYCLE]
    return events


async def _post_events(
    http: httpx.AsyncClient, run_id: str, rate: float, duration: float
) -> tuple[list[float], dict[str, list[float]], list[float], float, int]:
    """Post one event every 1/rate s on a fixed schedule (the calls' events in turn); (200
    arrival times, those of the calls entering each queue, post latencies, seconds from the first
    send to the last 200, events refused)."""
    done: list[float] = []
    entered: dict[str, list[float]] = {queue: [] for queue in QUEUES}
    latencies: list[float] = []
    refused: list[str] = []
    in_flight: set[asyncio.Task[None]] = set()

    async def post(k: int) -> None:
        call, step = divmod(k, len(CYCLE))
        queue = QUEUES[call % len(QUEUES)]
        event = _task_event(CYCLE[step], f"{run_id}x{call}", queue)
        sent = time.monotonic()
        answer = await http.post("/events", json=[event])
        arrived = time.monotonic()
        if answer.status_code != 200:  # counted and shown: a refused event is part of the result
            refused.append(f"{answer.status_code} {answer.text[:200]}")
            return
        done.append(arrived)
        if step == 0:
            entered[queue].append(arrived)
        latencies.append(arrived - sent)

    started = time.monotonic()
    total = int(rate * duration)
    for k in range(total):
        await asyncio.sleep(max(0.0, started + k / rate - time.monotonic()))
        task = asyncio.create_task(post(k))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    for problem in sorted(set(refused)):
        print(f"  refused {refused.count(problem)}x: {problem}", flush=True)
    return sorted(done), entered, latencies, max(done) - started, len(refused)


def _latencies(updates: list[tuple[float, int]], base: int, entered: list[float]) -> list[float]:
    """A subscriber sees base + k once the k-th call entering its queues committed (the k-th
    commit is taken to be the k-th 200: events in flight together may swap places)."""
    found: list[float] = []
    shown = 0
    for arrived, total in updates:
        total -= base
        for k in range(shown + 1, min(total, len(entered)) + 1):
            found.append(arrived - entered[k - 1])
        shown = max(shown, total)
    return found


async def run(n: int, args: argparse.Namespace, database: str) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INSIGHTS_JWT_SECRET": SECRET,
        "INSIGHTS_MAX_SUBSCRIPTIONS": "100000",
        "INSIGHTS_LOG_LEVEL": "warning",
    }
    load_before = os.getloadavg()
    log_path = Path(tempfile.gettempdir()) / f"subscriptions-bench-{port}.log"
    print(f"  server log: {log_path}", flush=True)
    log = log_path.open("w")  # closed below, after the server stops
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--auth", "on", "--port", str(port),
         "--workers", str(args.workers), "--database", database, "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    admin = {"Authorization": f"Bearer {token(CLAIMS[0])}"}
    clients: list[subprocess.Popen[str]] = []
    profilers: list[subprocess.Popen[bytes]] = []
    try:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(
            base_url=base, headers=admin, timeout=60, limits=limits
        ) as http:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # every worker up
            run_id = f"{os.getpid()}x{n}x{int(time.time())}"
            setup = await http.post("/events", json=_setup_events(run_id))
            setup.raise_for_status()
            before_rss = tree_rss_kib(server.pid)
            ws_url = base.replace("http", "ws") + "/graphql"
            count = max(1, min(args.clients, n))
            for c in range(count):
                indices = ",".join(str(i) for i in range(c, n, count))
                command = [sys.executable, __file__, "--client-of", ws_url, "--indices", indices]
                pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
                clients.append(subprocess.Popen(command, text=True, **pipes))  # type: ignore[call-overload]
            loop = asyncio.get_running_loop()
            for process in clients:
                line = await loop.run_in_executor(None, process.stdout.readline)  # type: ignore[union-attr]
                if line.strip() != "ready":
                    raise RuntimeError(f"a client process failed: {line!r}")
            await asyncio.sleep(1.0)
            after_rss = tree_rss_kib(server.pid)
            metrics_before = (await http.get("/metrics")).text
            if args.profile:
                for pid in children(server.pid) if args.workers > 1 else [server.pid]:
                    svg = Path(args.profile) / f"worker-{n}-{pid}.txt"
                    record = ["py-spy", "record", "--pid", str(pid), "--output", str(svg),
                              "--duration", str(int(args.duration)), "--rate", "100",
                              "--format", "raw", "--nonblocking"]  # fmt: skip
                    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
                    profilers.append(subprocess.Popen(record, **quiet))  # type: ignore[call-overload]
            posted = await _post_events(http, run_id, args.rate, args.duration)
            done, entered, post_latencies, span, refused = posted
            await asyncio.sleep(2.0)
            metrics_after = (await http.get("/metrics")).text
            seen = []
            for process in clients:
                out, _ = await loop.run_in_executor(None, process.communicate, "stop\n")
                seen.append(json.loads(out.strip().splitlines()[-1]))
            for profiler in profilers:
                await loop.run_in_executor(None, profiler.wait)
    finally:
        for process in clients:
            if process.poll() is None:
                process.kill()
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a worker still closing its sockets
            for pid in [*children(server.pid), server.pid]:
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
            server.wait()
        log.close()
    load_after = os.getloadavg()

    latencies: list[float] = []  # the admin's all-queue subscribers
    scoped: list[float] = []  # the supervisors' and agents' subscribers of the first document
    for out in seen:
        for i, updates in out["updates"].items():
            role = role_of(int(i))
            queues = queues_seen(role)
            calls = sorted(t for queue in queues for t in entered[queue])
            found = _latencies(updates, out["base"][i], calls)
            (latencies if role == 0 else scoped).extend(found)
    lags = [lag for out in seen for lag in out["lag"]]
    statements = metric(metrics_after, "insights_subscription_statements_total") - metric(
        metrics_before, "insights_subscription_statements_total"
    )
    return {
        "subscribers": n,
        "events": len(done),
        "refused": refused,
        "rate": len(done) / span,
        "post_p50_ms": 1000 * statistics.median(post_latencies),
        "post_p99_ms": 1000 * percentile(post_latencies, 0.99),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "scoped_p50_ms": 1000 * statistics.median(scoped) if scoped else float("nan"),
        "scoped_p99_ms": 1000 * percentile(scoped, 0.99),
        "groups": metric(metrics_after, "insights_subscription_groups"),
        "computations": metric(metrics_after, "insights_subscription_computations_total")
        - metric(metrics_before, "insights_subscription_computations_total"),
        "statements_per_commit": statements / max(len(done), 1),
        "kib_per_subscriber": (after_rss - before_rss) / n,
        "messages": sum(out["messages_after_ready"] for out in seen),
        "lag_p99_ms": 1000 * percentile(lags, 0.99),
        "lag_max_ms": 1000 * max(lags, default=float("nan")),
        "load": f"{load_before[0]:.2f} -> {load_after[0]:.2f}",
    }


def fresh_sqlite(directory: str) -> str:
    database = f"sqlite+aiosqlite:///{directory}/bench.db"
    subprocess.run(
        [sys.executable, "-m", "gateway", "db", "upgrade", "--database", database],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return database


def print_rows(rows: list[dict[str, Any]], marked: set[int]) -> None:
    header = (
        f"{'':1} {'subs':>5} {'groups':>6} {'events':>6} {'refused':>7} {'ev/s':>5} {'post p50':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'scoped p50/p99':>14} {'stmts/event':>12} {'per group':>9} {'KiB/sub':>7} "
        f"{'msgs':>7} {'client lag p99/max ms':>21} {'load avg 1 min':>14}"
    )
    print(header)
    for n, r in enumerate(rows):
        per_group = r["statements_per_commit"] / max(r["groups"], 1)
        lag = f"{r['lag_p99_ms']:.1f}/{r['lag_max_ms']:.1f}"
        scoped = f"{r['scoped_p50_ms']:.0f}/{r['scoped_p99_ms']:.0f}"
        print(f"{'*' if n in marked else '':1} {r['subscribers']:>5} {r['groups']:>6.0f} "
              f"{r['events']:>6} {r['refused']:>7} {r['rate']:>5.1f} {r['post_p50_ms']:>8.1f} "
              f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {scoped:>14} {r['statements_per_commit']:>12.1f} "
              f"{per_group:>9.2f} {r['kib_per_subscriber']:>7.1f} {r['messages']:>7} "
              f"{lag:>21} {r['load']:>14}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--database", default="sqlite", help="sqlite (fresh file) or a URL")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", help="directory for py-spy flame graphs of the workers")
    parser.add_argument("--client-of", help=argparse.SUPPRESS)
    parser.add_argument("--indices", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_of:
        await client(args.client_of, [int(i) for i in args.indices.split(",")])
        return
    if args.profile:
        if shutil.which("py-spy") is None:
            parser.error("--profile needs py-spy on the PATH (pip install py-spy)")
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"{args.workers} worker(s), {args.clients} client process(es), {args.rate:g} events/s "
          f"for {args.duration:g} s, database {args.database.split(':')[0]}", flush=True)  # fmt: skip
    rows: list[dict[str, Any]] = []
    marked: set[int] = set()
    for n in (args.baseline, args.subscribers):
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as directory:
                database = fresh_sqlite(directory) if args.database == "sqlite" else args.database
                if args.database != "sqlite":
                    subprocess.run(
                        [sys.executable, "-m", "gateway", "db", "upgrade", "--database", database],
                        cwd=ROOT, check=True, capture_output=True,
                    )  # fmt: skip
                runs.append(await run(n, args, database))
            print_rows([runs[-1]], set())
        order = sorted(range(len(runs)), key=lambda k: runs[k]["p99_ms"])
        marked.add(len(rows) + order[len(runs) // 2])
        rows += runs
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print("\nall runs (* the median run of each size by p99):")
    print_rows(rows, marked)


if __name__ == "__main__":
    asyncio.run(main())
