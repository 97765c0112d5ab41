"""Alternating rounds of both servers and the printed comparison (clients: bench/keepalive.py)."""

from __future__ import annotations

import statistics

from bench.keepalive import Cell, Endpoint, load_average, run_batch

SERVERS = ("gateway", "postgraphile")


Key = tuple[str, str, int]  # server, question, clients


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
    print(
        f"{'question':<62} {'clients':>7} {'p50':>7} {'p99':>7} {'req/s':>7} {'target':>6}  per round"
    )
    for question in questions:
        for clients in client_counts:
            g = cells[("gateway", question, clients)]
            p = cells[("postgraphile", question, clients)]
            per_round = ", ".join(f"{r:.2f}" for r in round_ratios(g, p))
            # the target: p50 at or below PostGraphile's, throughput at or above
            met = g.p50() <= p.p50() and g.throughput() >= p.throughput()
            print(
                f"{question[:62]:<62} {clients:>7} {g.p50() / p.p50():>6.2f}x"
                f" {g.p99() / p.p99():>6.2f}x {g.throughput() / p.throughput():>6.2f}x"
                f" {'met' if met else 'missed':>6}  [{per_round}]"
            )
