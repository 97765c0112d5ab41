"""The npm clients `graphql-ws` and `graphql-sse` against a served gateway: each receives the
picture at once and the change within a second of the commit; GraphQL over SSE with a plain HTTP
client: errors as `next` events, limits, and the end of a stream whose key was revoked."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ingest_helpers import fresh_engine
from tests.realtime_script import call_waiting
from tests.served import ROOT, database_url, post_events, served
from warehouse.api_keys import create_key, revoke_key

WAITING = "subscription { realtime { queues { queue waitingTasks } } }"
NODE = shutil.which("node") or "/usr/bin/node"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "clients.db")
    yield engine
    await engine.dispose()


class NodeClient:
    """`tests/live_clients.mjs` in a child process: one JSON line per event it receives."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, mode: str, url: str, results: int, **spec: Any) -> NodeClient:
        process = await asyncio.create_subprocess_exec(
            NODE, "--experimental-websocket", "--no-warnings", str(ROOT / "tests" / "live_clients.mjs"),
            mode, url, str(results), json.dumps(spec),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(process)

    async def line(self, timeout: float = 10.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            assert self.process.stderr is not None
            raise AssertionError((await self.process.stderr.read()).decode())
        return json.loads(raw)  # type: ignore[no-any-return]

    async def finish(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


@pytest.mark.parametrize("mode", ["ws", "sse"])
async def test_the_npm_clients_receive_each_change(
    mode: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    with served(database_url(engine), tmp_path / "server.log", workers=2) as url:
        client = await NodeClient.start(mode, url, 3, query=WAITING)
        try:
            first = await client.line()
            assert first == {"next": {"data": {"realtime": {"queues": []}}}}
            for n, sid in enumerate(["A", "B"], 1):
                posted = await post_events(url, call_waiting(sid))
                line = await client.line(timeout=3)
                assert time.monotonic() - posted < 1.0
                queues = line["next"]["data"]["realtime"]["queues"]
                assert queues == [{"queue": "Sales", "waitingTasks": n}]
        finally:
            await client.finish()


async def test_the_npm_ws_client_hears_a_refused_token(engine: AsyncEngine, tmp_path: Path) -> None:
    with served(database_url(engine), tmp_path / "server.log", auth="on") as url:
        client = await NodeClient.start("ws", url, 1, query=WAITING, token="igk_nope_nope")
        try:
            line = await client.line()
            assert line.get("closed") == 4403 or "4403" in str(line.get("error")), line
        finally:
            await client.finish()


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream response; comments skipped."""
    kind, data = None, ""
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and kind is not None:
            yield kind, json.loads(data) if data else None
            kind, data = None, ""


SSE = {"accept": "text/event-stream"}


async def test_sse_errors_arrive_as_next_events_then_complete(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    env = {"INSIGHTS_MAX_SUBSCRIPTIONS": "1"}
    with served(database_url(engine), tmp_path / "server.log", env=env) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            bad = {"query": "subscription { realtime { nope } }"}
            async with http.stream("POST", "/graphql", json=bad, headers=SSE) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                events = [e async for e in _events(response)]
            assert [kind for kind, _ in events] == ["next", "complete"]
            assert "nope" in events[0][1]["errors"][0]["message"]
            # a query over SSE: one result, then complete (GET with the query in the URL works too)
            params = {"query": "{ realtime { queues { queue } } }"}
            async with http.stream("GET", "/graphql", params=params, headers=SSE) as response:
                events = [e async for e in _events(response)]
            assert events == [("next", {"data": {"realtime": {"queues": []}}}), ("complete", None)]
            # the process limit: the second subscription is refused, naming the setting
            async with http.stream(
                "POST", "/graphql", json={"query": WAITING}, headers=SSE
            ) as held:
                stream = _events(held)
                assert (await anext(stream))[0] == "next"
                async with http.stream(
                    "POST", "/graphql", json={"query": WAITING}, headers=SSE
                ) as refused:
                    events = [e async for e in _events(refused)]
                assert "INSIGHTS_MAX_SUBSCRIPTIONS" in events[0][1]["errors"][0]["message"]
                assert events[-1] == ("complete", None)


async def test_a_revoked_key_ends_an_sse_stream(engine: AsyncEngine, tmp_path: Path) -> None:
    key, secret = await create_key(engine, "supervisor", team_ids=("T1",))
    # verified keys are trusted for INSIGHTS_AUTH_CACHE_SECONDS, then checked again every recheck
    env = {"INSIGHTS_SUBSCRIPTION_AUTH_RECHECK_SECONDS": "0.5", "INSIGHTS_AUTH_CACHE_SECONDS": "1"}
    with served(database_url(engine), tmp_path / "server.log", auth="on", env=env) as url:
        headers = {**SSE, "Authorization": f"Bearer {secret}"}
        async with (
            httpx.AsyncClient(base_url=url, timeout=10) as http,
            http.stream("POST", "/graphql", json={"query": WAITING}, headers=headers) as response,
        ):
            stream = _events(response)
            assert await anext(stream) == ("next", {"data": {"realtime": {"queues": []}}})
            assert await revoke_key(engine, key.key_id)
            started = time.monotonic()
            kind, data = await asyncio.wait_for(anext(stream), 5)
            assert kind == "next" and "revoked" in data["errors"][0]["message"]
            assert await anext(stream) == ("complete", None)
            assert time.monotonic() - started < 3
