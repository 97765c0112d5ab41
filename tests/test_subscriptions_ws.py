"""Subscriptions over `graphql-transport-ws` against served gateways (real processes): pushed
within a second of the commit, across processes, shared per document and viewer, scoped, limited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ingest_helpers import fresh_engine
from tests.realtime_script import call_waiting, created, reservation
from tests.served import WsClient, database_url, metric, post_events, served
from warehouse.api_keys import create_key, revoke_key

WAITING = "subscription { realtime { queues { queue waitingTasks } } }"
SECRET = "s" * 32


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "live.db")
    yield engine
    await engine.dispose()


def _waiting(data: dict[str, object]) -> dict[str, int]:
    queues = data["realtime"]["queues"]  # type: ignore[index]
    return {q["queue"]: q["waitingTasks"] for q in queues}


async def test_a_commit_reaches_a_subscriber_within_a_second(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with served(database_url(engine), tmp_path / "server.log") as url:
        async with WsClient.connect(url) as client:
            await client.subscribe("1", WAITING)
            assert _waiting(await client.next_data("1")) == {}
            for n, sid in enumerate(["A", "B", "C"], 1):
                posted = await post_events(url, call_waiting(sid))
                data = await client.next_data("1", timeout=2)
                assert time.monotonic() - posted < 1.0
                assert _waiting(data) == {"Sales": n}


async def test_another_process_on_the_same_database_pushes_the_change(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with (
        served(database_url(engine), tmp_path / "a.log") as writer,
        served(database_url(engine), tmp_path / "b.log") as reader,
    ):
        async with WsClient.connect(reader) as client:
            await client.subscribe("1", WAITING)
            assert _waiting(await client.next_data("1")) == {}
            posted = await post_events(writer, call_waiting("A", "Support"))
            assert _waiting(await client.next_data("1", timeout=2)) == {"Support": 1}
            assert time.monotonic() - posted < 1.0


async def test_every_worker_pushes_every_change(engine: AsyncEngine, tmp_path: Path) -> None:
    with served(database_url(engine), tmp_path / "server.log", workers=2) as url:
        clients = [WsClient.connect(url) for _ in range(6)]
        opened = [await c.__aenter__() for c in clients]
        try:
            for client in opened:
                await client.subscribe("w", WAITING)
                assert _waiting(await client.next_data("w")) == {}
            posted = await post_events(url, call_waiting("A"))
            for client in opened:
                assert _waiting(await client.next_data("w", timeout=2)) == {"Sales": 1}
            assert time.monotonic() - posted < 1.5
        finally:
            for c in clients:
                await c.__aexit__(None, None, None)


async def _statements_per_change(
    url: str, clients: list[WsClient], sid: str
) -> tuple[float, float]:
    async with httpx.AsyncClient() as http:
        before = (await http.get(f"{url}/metrics")).text
        await post_events(url, call_waiting(sid))
        for client in clients:
            await client.next_data("s", timeout=3)
        await asyncio.sleep(0.3)  # the group's bookkeeping after its last send
        after = (await http.get(f"{url}/metrics")).text

    def delta(name: str) -> float:
        return metric(after, name) - metric(before, name)

    return (
        delta("insights_subscription_computations_total"),
        delta("insights_subscription_statements_total"),
    )


async def test_identical_subscribers_share_one_computation(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    document = "subscription { realtime { queues { queue waitingTasks handledToday } agents { activity } } }"
    with served(database_url(engine), tmp_path / "server.log") as url:
        await post_events(url, call_waiting("A"))  # queues exist: the picture has its full shape
        async with WsClient.connect(url) as first:
            await first.subscribe("s", document)
            await first.next_data("s")
            alone = await _statements_per_change(url, [first], "B")
            many = [WsClient.connect(url) for _ in range(7)]
            others = [await c.__aenter__() for c in many]
            try:
                for client in others:
                    await client.subscribe("s", document)
                    await client.next_data("s")
                crowd = await _statements_per_change(url, [first, *others], "C")
            finally:
                for c in many:
                    await c.__aexit__(None, None, None)
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"{url}/metrics")).text
    assert alone[0] == 1 and alone[1] > 0
    assert crowd == alone  # one computation, the same statements, for 1 or 8 subscribers
    assert metric(text, "insights_subscriptions") == 1  # the seven that left were cleaned up


async def test_documents_of_one_viewer_share_one_picture_per_change(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    waiting = "subscription { realtime { queues { queue waitingTasks } agents { activity } } }"
    counts = (
        "subscription { realtime { queues { waitingTasks handledToday } agents { activeTasks } } }"
    )
    with served(database_url(engine), tmp_path / "server.log") as url:
        await post_events(url, call_waiting("A"))  # queues exist: the picture has its full shape
        async with WsClient.connect(url) as first, WsClient.connect(url) as second:
            await first.subscribe("s", waiting)
            await first.next_data("s")
            alone = await _statements_per_change(url, [first], "B")
            await second.subscribe("s", counts)
            await second.next_data("s")
            both = await _statements_per_change(url, [first, second], "C")
    assert alone[0] == 1 and alone[1] > 0
    # two computations (two documents), the statements of one picture
    assert both == (2, alone[1])


async def test_no_result_when_nothing_the_selection_shows_changed(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with served(database_url(engine), tmp_path / "server.log") as url:
        async with WsClient.connect(url) as client:
            await client.subscribe(
                "1",
                'subscription { realtime { queues(filter: {queue: {eq: "Sales"}}) { queue waitingTasks } } }',
            )
            assert _waiting(await client.next_data("1")) == {}
            await post_events(url, call_waiting("A", "Support"))  # another queue: nothing to send
            with pytest.raises(TimeoutError):
                await client.next_data("1", timeout=1.0)
            await post_events(url, call_waiting("B", "Sales"))
            assert _waiting(await client.next_data("1", timeout=2)) == {"Sales": 1}


async def test_a_live_report_and_one_over_the_past(engine: AsyncEngine, tmp_path: Path) -> None:
    live = """subscription($from: DateTime) { report(groupBy: [QUEUE], from: $from) {
      rows { key { queue } metrics { queueSegments } } } }"""
    past = """subscription { report(groupBy: [QUEUE], to: "2020-01-01T00:00:00Z") { totalRows } }"""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    with served(database_url(engine), tmp_path / "server.log") as url:
        async with WsClient.connect(url) as client:
            await client.subscribe("past", past)
            assert await client.next_data("past") == {"report": {"totalRows": 0}}
            assert await client.receive() == {"id": "past", "type": "complete"}
            await client.subscribe("live", live, {"from": today})
            assert (await client.next_data("live"))["report"]["rows"] == []
            await post_events(url, call_waiting("A"))
            rows = (await client.next_data("live", timeout=2))["report"]["rows"]
            assert rows == [{"key": {"queue": "Sales"}, "metrics": {"queueSegments": 1}}]


async def test_an_agent_sees_only_themselves(engine: AsyncEngine, tmp_path: Path) -> None:
    at = int(time.time())
    env = {"INSIGHTS_JWT_SECRET": SECRET}
    admin = jwt.encode({"sub": "root", "role": "admin", "exp": at + 600}, SECRET)
    agent = jwt.encode({"sub": "ada", "role": "agent", "agentId": "WKada", "exp": at + 600}, SECRET)
    document = "subscription { realtime { agents { agent { agentId } activity } } }"
    with served(database_url(engine), tmp_path / "server.log", auth="on", env=env) as url:
        bearer = {"Authorization": f"Bearer {admin}"}
        await post_events(
            url, [created(at, "WKada", "Available"), created(at, "WKbob", "Available")], **bearer
        )
        # the token in `connection_init`, as browsers send it, or in the upgrade request's header
        async with (
            WsClient.connect(url, {"Authorization": f"Bearer {agent}"}) as mine,
            WsClient.connect(url, headers={"Authorization": f"Bearer {admin}"}) as everyone,
        ):
            await mine.subscribe("a", document)
            await everyone.subscribe("a", document)
            agents = (await mine.next_data("a"))["realtime"]["agents"]
            assert [a["agent"]["agentId"] for a in agents] == ["WKada"]
            agents = (await everyone.next_data("a"))["realtime"]["agents"]
            assert [a["agent"]["agentId"] for a in agents] == ["WKada", "WKbob"]
            await post_events(
                url,
                [
                    reservation("reservation.created", at + 1, "A", "WKbob", "Sales"),
                    *call_waiting("A"),
                ],
                **bearer,
            )
            await post_events(
                url, [reservation("reservation.accepted", at + 2, "A", "WKbob", "Sales")], **bearer
            )
            with pytest.raises(TimeoutError):  # Bob's call is nothing the agent's picture shows
                await mine.next_data("a", timeout=1.0)
        async with WsClient.connect(url, {"Authorization": "Bearer nonsense"}, ack=False) as bad:
            code, reason = await bad.closed()
            assert code == 4403 and "Forbidden" in reason
        async with WsClient.connect(url, ack=False) as anonymous:
            code, _ = await anonymous.closed()
            assert code == 4403


async def test_a_revoked_key_ends_its_subscriptions_within_seconds(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    key, secret = await create_key(engine, "admin")
    # verified keys are trusted for INSIGHTS_AUTH_CACHE_SECONDS, then checked again every recheck
    env = {"INSIGHTS_SUBSCRIPTION_AUTH_RECHECK_SECONDS": "0.5", "INSIGHTS_AUTH_CACHE_SECONDS": "1"}
    with served(database_url(engine), tmp_path / "server.log", auth="on", env=env) as url:
        async with WsClient.connect(url, {"Authorization": f"Bearer {secret}"}) as client:
            await client.subscribe("1", WAITING)
            await client.next_data("1")
            assert await revoke_key(engine, key.key_id)
            started = time.monotonic()
            code, reason = await client.closed(timeout=5)
            assert code == 4403 and "revoked" in reason
            assert time.monotonic() - started < 3


async def test_limits_refuse_with_a_clear_error(engine: AsyncEngine, tmp_path: Path) -> None:
    env = {"INSIGHTS_MAX_SUBSCRIPTIONS_PER_CONNECTION": "2", "INSIGHTS_MAX_SUBSCRIPTIONS": "3"}
    with served(database_url(engine), tmp_path / "server.log", env=env) as url:
        async with WsClient.connect(url) as one, WsClient.connect(url) as two:
            for op_id in ("1", "2"):
                await one.subscribe(op_id, WAITING)
                await one.next_data(op_id)
            await one.subscribe("3", WAITING)
            refused = await one.receive()
            assert refused["type"] == "error" and refused["id"] == "3"
            assert "INSIGHTS_MAX_SUBSCRIPTIONS_PER_CONNECTION" in refused["payload"][0]["message"]
            await two.subscribe("1", WAITING)
            await two.next_data("1")
            await two.subscribe("2", WAITING)
            refused = await two.receive()
            assert refused["type"] == "error"
            assert "INSIGHTS_MAX_SUBSCRIPTIONS)" in refused["payload"][0]["message"]
            # a completed subscription frees its place
            await one.send({"id": "1", "type": "complete"})
            await asyncio.sleep(0.2)
            await two.subscribe("3", WAITING)
            assert _waiting(await two.next_data("3")) == {}


async def test_protocol_errors_close_with_the_protocols_codes(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with served(database_url(engine), tmp_path / "server.log") as url:
        async with WsClient.connect(url) as client:
            await client.subscribe("x", "subscription { realtime { nope } }")
            message = await client.receive()
            assert message["type"] == "error" and "nope" in message["payload"][0]["message"]
            await client.subscribe("y", "subscription {")
            message = await client.receive()
            assert message["type"] == "error" and "Syntax Error" in message["payload"][0]["message"]
            await client.send(
                {
                    "id": "q",
                    "type": "subscribe",
                    "payload": {"query": "{ realtime { queues { queue } } }"},
                }
            )
            assert (await client.receive()) == {
                "id": "q",
                "type": "next",
                "payload": {"data": {"realtime": {"queues": []}}},
            }
            assert (await client.receive()) == {"id": "q", "type": "complete"}
            await client.send({"type": "ping"})
            assert (await client.receive()) == {"type": "pong"}
            await client.subscribe("z", WAITING)
            await client.next_data("z")
            await client.subscribe("z", WAITING)
            code, _ = await client.closed()
            assert code == 4409
        async with WsClient.connect(url) as client:
            await client.send({"type": "connection_init"})
            assert (await client.closed())[0] == 4429
        async with WsClient.connect(url) as client:
            await client.connection.send("not json")
            assert (await client.closed())[0] == 4400


@pytest.mark.parametrize("compression", [None, "true"], ids=["default", "on"])
async def test_websocket_compression_is_off_unless_asked_for(
    engine: AsyncEngine, tmp_path: Path, compression: str | None
) -> None:
    """permessage-deflate costs a compressor per connection, run on every result sent: offered
    only with INSIGHTS_WEBSOCKET_COMPRESSION (the client below asks for it, as browsers do)."""
    env = {"INSIGHTS_WEBSOCKET_COMPRESSION": compression} if compression else {}
    with served(database_url(engine), tmp_path / "server.log", env=env) as url:
        async with WsClient.connect(url) as client:
            await client.subscribe("1", WAITING)
            assert _waiting(await client.next_data("1")) == {}
            response = client.connection.response
            extensions = response.headers.get("Sec-WebSocket-Extensions", "")
    assert ("permessage-deflate" in extensions) == (compression is not None)
