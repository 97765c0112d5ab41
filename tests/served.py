"""A served gateway (a real `insights-gateway serve` process) and real clients of its live
transports: a `graphql-transport-ws` client over `websockets`, and `/metrics` readings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    auth: str = "off",
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[str]:
    """`insights-gateway serve` on a free loopback port, until it answers `/readyz`; yields its
    base URL. Its output goes to `log_path`; it runs with its own metrics directory."""
    port = free_port()
    log = log_path.open("w")
    environment = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--auth", auth, "--port", str(port),
         "--workers", str(workers), "--database", database_url, *extra],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment | (env or {}),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the gateway did not start in 60 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def database_url(engine: AsyncEngine) -> str:
    """The URL a served gateway needs to open `engine`'s database."""
    return engine.url.render_as_string(hide_password=False)


def metric(text: str, name: str) -> float:
    """The sum of a Prometheus sample's values over its label sets (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? ([0-9.e+-]+)$", line)
        if match:
            total += float(match.group(2))
    return total


class WsClient:
    """A `graphql-transport-ws` client: the messages as the protocol defines them, nothing else."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        base_url: str,
        payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        ack: bool = True,
    ) -> AsyncIterator[WsClient]:
        url = base_url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(
            url,
            subprotocols=["graphql-transport-ws"],
            additional_headers=headers,  # type: ignore[list-item]
        ) as connection:
            client = cls(connection)
            await client.send({"type": "connection_init", "payload": payload or {}})
            if ack:
                assert (await client.receive())["type"] == "connection_ack"
            yield client

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))  # type: ignore[no-any-return]

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op_id, "type": "subscribe", "payload": payload})

    async def next_data(self, op_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The data of the next `next` message of `op_id` (other operations' messages skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.receive(max(0.01, deadline - time.monotonic()))
            if message.get("id") != op_id:
                continue
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message["payload"]
            return message["payload"]["data"]  # type: ignore[no-any-return]

    async def closed(self, timeout: float = 5.0) -> tuple[int | None, str]:
        """Wait for the server to close the socket; its close code and reason."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(timeout):
                while True:
                    await self.connection.recv()
        return self.connection.close_code, self.connection.close_reason or ""


async def post_events(base_url: str, events: list[dict[str, Any]], **headers: str) -> float:
    """Post a batch to `/events`; the instant its `200` arrived (`time.monotonic()`)."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{base_url}/events", json=events, headers=headers)
    assert answer.status_code == 200, answer.text
    return time.monotonic()
