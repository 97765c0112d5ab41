"""Asking over HTTP keep-alive: one connection per client thread, batches, alternating rounds.

The client is the same for both servers (`http.client`, one thread and one kept-alive connection
per client, a first request on each before the clock starts), so its cost is alike on both sides.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

SERVERS = ("gateway", "postgraphile")


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
    """`clients` threads, each on its own keep-alive connection, `requests` requests each."""
    batch = Batch()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=120)
        post(conn, endpoint, body)  # connect and warm the connection before the clock starts
        start.wait()
        mine: list[float] = []
        errors = 0
        for _ in range(requests):
            began = time.perf_counter()
            try:
                status, raw = post(conn, endpoint, body)
                ok = status == 200 and b'"errors"' not in raw
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=120)
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


Key = tuple[str, str, int]  # server, question, clients


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def run_rounds(
    endpoints: dict[str, Endpoint],
    bodies: dict[tuple[str, str], bytes],  # (server, question) -> body
    questions: list[str],
    client_counts: list[int],
    rounds: int,
    requests: int,
) -> dict[Key, Cell]:
    """Each round asks every question at every client count of both servers, back to back,
    the server going first alternating from round to round."""
    cells: dict[Key, Cell] = {}
    for round_ in range(rounds):
        order = SERVERS if round_ % 2 == 0 else SERVERS[::-1]
        for question in questions:
            for clients in client_counts:
                for server in order:
                    batch = run_batch(
                        endpoints[server], bodies[(server, question)], clients, requests
                    )
                    cells.setdefault((server, question, clients), Cell()).batches.append(batch)
        print(f"  round {round_ + 1}/{rounds} done, {load_average()}", flush=True)
    return cells


def round_ratios(gateway: Cell, peer: Cell) -> list[float]:
    """Per round: the gateway's median over PostGraphile's (the same-round comparison)."""
    return [
        statistics.median(g.latencies) / statistics.median(p.latencies)
        for g, p in zip(gateway.batches, peer.batches, strict=True)
    ]


def print_table(cells: dict[Key, Cell], questions: list[str], client_counts: list[int]) -> None:
    print(
        f"\n{'question':<62} {'clients':>7} {'server':<13} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'req/s':>7} {'errors':>6}"
    )
    for question in questions:
        for clients in client_counts:
            for server in SERVERS:
                cell = cells[(server, question, clients)]
                print(
                    f"{question[:62]:<62} {clients:>7} {server:<13} {cell.p50() * 1000:>8.2f}"
                    f" {cell.p99() * 1000:>8.2f} {cell.throughput():>7.0f} {cell.errors():>6}"
                )
    print(
        "\ngateway / PostGraphile (p50: below 1 is the gateway faster; req/s: above 1 is;"
        " per-round p50 ratios in brackets)"
    )
    print(f"{'question':<62} {'clients':>7} {'p50':>7} {'p99':>7} {'req/s':>7}  per round")
    for question in questions:
        for clients in client_counts:
            g = cells[("gateway", question, clients)]
            p = cells[("postgraphile", question, clients)]
            per_round = ", ".join(f"{r:.2f}" for r in round_ratios(g, p))
            print(
                f"{question[:62]:<62} {clients:>7} {g.p50() / p.p50():>6.2f}x"
                f" {g.p99() / p.p99():>6.2f}x {g.throughput() / p.throughput():>6.2f}x"
                f"  [{per_round}]"
            )
