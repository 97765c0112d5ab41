"""Served the production way (two workers, keep-alive, a token), small requests take milliseconds.

With Nagle's algorithm left on for accepted connections, every keep-alive request after the first
waited ~40 ms for the client's delayed ACK; medians here would be above 40 ms. The server is
`serve` itself, so this runs the stack it ships (httptools on uvloop, `tests/test_nodelay.py`).
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.served import database_url, served
from warehouse.api_keys import create_key

ROOT = Path(__file__).resolve().parent.parent
QUERY = json.dumps({"query": "{ agents(first: 5) { nodes { agentId team { name } } } }"})


@pytest.fixture
def two_workers(small_engine: AsyncEngine, tmp_path: Path) -> Iterator[int]:
    """`insights-gateway serve --workers 2` with authentication on, over the small demo; its port."""
    log = tmp_path / "server.log"
    with served(
        database_url(small_engine), log, workers=2, auth="on", extra=("--no-migrate",)
    ) as url:
        yield int(url.rsplit(":", 1)[1])


def _sequential_ms(
    port: int, send: list[tuple[str, str, str | None, dict[str, str]]]
) -> list[float]:
    """Milliseconds of each request, sent one after another on one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for method, path, body, headers in send:
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, payload
        assert b'"errors"' not in payload, payload
        assert response.getheader("connection", "keep-alive") != "close"
    conn.close()
    return times


async def test_keep_alive_requests_take_milliseconds_with_two_workers(
    small_engine: AsyncEngine, two_workers: int
) -> None:
    _, token = await create_key(small_engine, "admin", label="latency test")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    warm = [("POST", "/graphql", QUERY, headers)] * 4  # both workers build their caches
    _sequential_ms(two_workers, warm)

    health = _sequential_ms(two_workers, [("GET", "/healthz", None, {})] * 21)[1:]
    graphql = _sequential_ms(two_workers, [("POST", "/graphql", QUERY, headers)] * 21)[1:]
    # the stall made every one of them 40 ms or more; a busy machine adds milliseconds, not tens
    assert statistics.median(health) < 10, health
    assert statistics.median(graphql) < 20, graphql
