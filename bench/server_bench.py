"""Which server stack: each candidate run the production way, same app, same database, one run.

Every candidate serves `gateway.serving:create_app_from_env` with two worker processes and
authentication on; clients keep their HTTP connections alive (one `http.client` connection per
client thread, one warm-up request each) and send `GET /healthz` and a small GraphQL query with an
API key. Candidates are started together and measured in alternating rounds, so drift on a shared
machine hits all alike. Prints per candidate, workload and client count the median and p99
latency, the throughput, errors, and the median's ratio to `serve` (the shipped command).

- `serve`: `insights-gateway serve --workers 2` (uvicorn on httptools and uvloop, TCP_NODELAY on
  every connection)
- `serve-h11`: the same through uvicorn's pure-Python stack, as `serve` ran it before (h11 with
  TCP_NODELAY, asyncio's event loop)
- `uvicorn-before`: uvicorn as `serve` ran it before the stall was found (`--workers 2`, h11,
  asyncio, Nagle left on)
- `granian`, `hypercorn`, `gunicorn+uvicorn`: when installed (`pip install granian hypercorn
  gunicorn uvicorn-worker`); a missing one is listed as skipped.

    python bench/server_bench.py [--database URL] [--segments 5000] [--requests 100] [--rounds 3]

The SQLite database is built with `insights-gateway demo` when its file does not exist; on a
PostgreSQL URL the database must hold the demo already.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url

from bench.bench_key import bench_key
from bench.keepalive import Batch, run_requests

ROOT = Path(__file__).resolve().parent.parent
FACTORY = "gateway.serving:create_app_from_env"
BIN = Path(sys.executable).parent
QUERY = json.dumps({"query": "{ agents(first: 10) { nodes { agentId fullName team { name } } } }"})
WORKERS = 2


@dataclass(frozen=True)
class Candidate:
    name: str
    needs: str  # the module that must be importable
    argv: Callable[[int], list[str]]


CANDIDATES = [
    Candidate(
        "serve",
        "uvicorn",
        lambda port: [sys.executable, "-m", "gateway", "serve", "--no-migrate", "--port", str(port),
                      "--workers", str(WORKERS), "--log-level", "warning"],
    ),
    Candidate(
        "serve-h11",
        "uvicorn",
        lambda port: [sys.executable, "-m", "uvicorn", FACTORY, "--factory", "--http",
                      "gateway.nodelay:NoDelayH11Protocol", "--loop", "asyncio", "--port",
                      str(port), "--workers", str(WORKERS), "--log-level", "warning",
                      "--no-access-log", "--proxy-headers"],
    ),
    Candidate(
        "uvicorn-before",
        "uvicorn",
        lambda port: [sys.executable, "-m", "uvicorn", FACTORY, "--factory", "--http", "h11",
                      "--loop", "asyncio", "--port", str(port), "--workers", str(WORKERS),
                      "--log-level", "warning", "--no-access-log"],
    ),
    Candidate(
        "granian",
        "granian",
        lambda port: [str(BIN / "granian"), "--interface", "asgi", "--factory", "--port", str(port),
                      "--workers", str(WORKERS), "--log-level", "warning", "--no-access-log", FACTORY],
    ),
    Candidate(
        "hypercorn",
        "hypercorn",
        lambda port: [str(BIN / "hypercorn"), "--bind", f"127.0.0.1:{port}", "--workers",
                      str(WORKERS), "--log-level", "warning", f"{FACTORY}()"],
    ),
    Candidate(
        "gunicorn+uvicorn",
        "uvicorn_worker",
        lambda port: [str(BIN / "gunicorn"), "-k", "uvicorn_worker.UvicornWorker", "-w",
                      str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                      f"{FACTORY}()"],
    ),
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(conn: http.client.HTTPConnection, workload: str, token: str) -> bool:
    """One request on a kept-alive connection; whether it answered as expected."""
    if workload == "healthz":
        conn.request("GET", "/healthz")
    else:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        conn.request("POST", "/graphql", body=QUERY, headers=headers)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        return False
    return workload == "healthz" or b'"errors"' not in body


def run_batch(port: int, workload: str, clients: int, requests: int, token: str) -> Batch:
    """`clients` threads, each on its own keep-alive connection, `requests` requests each."""
    return run_requests(port, lambda conn: request(conn, workload, token), clients, requests, 30)


def wait_ready(port: int, server: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"{name} exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{name} did not become ready")


def ensure_database(url: str, segments: int) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        subprocess.run(
            [sys.executable, "-m", "gateway", "demo", "--database", url, "--segments",
             str(segments), "--quiet"], cwd=ROOT, check=True,
        )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "gateway", "db", "upgrade", "--database", url],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite+aiosqlite:////tmp/bench-server.db")
    parser.add_argument("--segments", type=int, default=5_000, help="demo size when building")
    parser.add_argument("--requests", type=int, default=100, help="per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,4", help="client counts, comma-separated")
    parser.add_argument("--only", help="candidate names, comma-separated (default: all)")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]

    ensure_database(args.database, args.segments)
    with bench_key(args.database, "bench/server_bench.py") as token:
        run(args, client_counts, token)


def run(args: argparse.Namespace, client_counts: list[int], token: str) -> None:
    wanted = set(args.only.split(",")) if args.only else None
    candidates = []
    for candidate in CANDIDATES:
        if wanted is not None and candidate.name not in wanted:
            continue
        if importlib.util.find_spec(candidate.needs) is None:
            print(f"skipped {candidate.name}: {candidate.needs} is not installed")
            continue
        candidates.append(candidate)

    servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="insights-server-bench-"))
    try:
        for candidate in candidates:
            port = free_port()
            metrics_dir = scratch / candidate.name
            metrics_dir.mkdir()
            env = os.environ | {
                "DATABASE_URL": args.database,
                "INSIGHTS_AUTH": "on",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            }
            log = (scratch / f"{candidate.name}.log").open("wb")
            servers[candidate.name] = (
                port,
                subprocess.Popen(candidate.argv(port), cwd=ROOT, env=env, stdout=log, stderr=log),
            )
        for name, (port, server) in servers.items():
            wait_ready(port, server, name)

        results: dict[tuple[str, str, int], list[Batch]] = {}
        for round_ in range(args.rounds):
            order = candidates[round_ % len(candidates) :] + candidates[: round_ % len(candidates)]
            for workload in ("healthz", "graphql"):
                for clients in client_counts:
                    for candidate in order:
                        port, _ = servers[candidate.name]
                        batch = run_batch(port, workload, clients, args.requests, token)
                        results.setdefault((candidate.name, workload, clients), []).append(batch)
    finally:
        for _, server in servers.values():
            server.terminate()
        for _, server in servers.values():
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()

    versions = {
        name: _version(name)
        for name in ("uvicorn", "httptools", "uvloop", "h11", "granian", "hypercorn", "gunicorn")
    }
    print(
        f"server stacks, {WORKERS} workers each, auth on (API key), keep-alive, {args.rounds} "
        f"rounds x {args.requests} requests per client, database {make_url(args.database)!r}"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v))
    print(
        f"{'candidate':<18} {'workload':<8} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'req/s':>8} {'errors':>6} {'p50 / serve':>11}"
    )
    for workload in ("healthz", "graphql"):
        for clients in client_counts:
            medians: dict[str, float] = {}
            for candidate in candidates:
                batches = results[(candidate.name, workload, clients)]
                medians[candidate.name] = statistics.median(
                    [x for b in batches for x in b.latencies]
                )
            reference = medians.get("serve")
            for candidate in candidates:
                batches = results[(candidate.name, workload, clients)]
                latencies = [x for b in batches for x in b.latencies]
                throughput = len(latencies) / sum(b.seconds for b in batches)
                ratio = f"{medians[candidate.name] / reference:.2f}x" if reference else "-"
                print(
                    f"{candidate.name:<18} {workload:<8} {clients:>7}"
                    f" {medians[candidate.name] * 1000:>8.2f}"
                    f" {percentile(latencies, 0.99) * 1000:>8.2f} {throughput:>8.0f}"
                    f" {sum(b.errors for b in batches):>6} {ratio:>11}"
                )
    print(f"server logs: {scratch}")


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
