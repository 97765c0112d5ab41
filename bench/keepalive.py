"""Benchmark clients over HTTP keep-alive: one thread and one kept-alive connection per client.

The same client for every server a benchmark compares (`http.client`, a first request on each
connection before the clock starts), so its own cost is alike on all sides.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    name: str
    port: int
    headers: dict[str, str]


@dataclass
class Batch:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


def post(conn: http.client.HTTPConnection, endpoint: Endpoint, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", "/graphql", body=body, headers=endpoint.headers)
    response = conn.getresponse()
    return response.status, response.read()


def ask_once(endpoint: Endpoint, body: bytes) -> Any:
    """One request on a fresh connection; its `data`, or SystemExit naming the errors."""
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=120)
    try:
        status, raw = post(conn, endpoint, body)
    finally:
        conn.close()
    answer = json.loads(raw)
    if status != 200 or answer.get("errors"):
        raise SystemExit(f"{endpoint.name} answered {status}: {raw[:1000]!r}")
    return answer["data"]


def run_batch(endpoint: Endpoint, body: bytes, clients: int, requests: int) -> Batch:
    """`clients` threads, each on its own keep-alive connection, `requests` POSTs of `body`."""

    def ask(conn: http.client.HTTPConnection) -> bool:
        status, raw = post(conn, endpoint, body)
        return status == 200 and b'"errors"' not in raw

    return run_requests(endpoint.port, ask, clients, requests)


def run_requests(
    port: int,
    ask: Callable[[http.client.HTTPConnection], bool],
    clients: int,
    requests: int,
    timeout: float = 120,
) -> Batch:
    """`clients` threads, each on its own keep-alive connection, `requests` calls of `ask` each
    (whether the answer was as expected); a first call per connection before the clock starts."""
    batch = Batch()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        ask(conn)  # connect and warm the connection before the clock starts
        start.wait()
        mine: list[float] = []
        errors = 0
        for _ in range(requests):
            began = time.perf_counter()
            try:
                ok = ask(conn)
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            mine.append(time.perf_counter() - began)
            errors += not ok
        conn.close()
        with lock:
            batch.latencies.extend(mine)
            batch.errors += errors

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    batch.seconds = time.perf_counter() - began
    return batch


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Cell:
    """All batches of one server, question and client count."""

    batches: list[Batch] = field(default_factory=list)

    def latencies(self) -> list[float]:
        return [x for b in self.batches for x in b.latencies]

    def p50(self) -> float:
        return statistics.median(self.latencies())

    def p99(self) -> float:
        return percentile(self.latencies(), 0.99)

    def throughput(self) -> float:
        return len(self.latencies()) / sum(b.seconds for b in self.batches)

    def errors(self) -> int:
        return sum(b.errors for b in self.batches)


def load_average() -> str:
    """The machine's load averages (`uptime`'s), printed beside shared-machine figures."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"
