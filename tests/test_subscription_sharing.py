"""Subscriptions shared across the worker processes of `serve --workers 2`: one process computes
each distinct subscription, the other relays its results; the SQL a change costs does not grow
with identical subscribers in either process, every subscriber still gets the change within a
second, and no viewer ever receives a picture computed for another."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.subscriptions import Hub, Key
from resolvers.context import Context, Options
from resolvers.live_pictures import LivePictures
from resolvers.viewer import Viewer
from schema import build_schema
from tests.ingest_helpers import fresh_engine
from tests.realtime_script import call_waiting, created, reservation
from tests.served import WsClient, database_url, metric, post_events, served
from warehouse.changes import ChangeFeed

T0 = 1_774_000_000
DOCUMENT = "subscription { realtime { queues { queue waitingTasks activeTasks } } }"
SECRET = "s" * 32


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "shared.db")
    yield engine
    await engine.dispose()


async def _metrics(url: str, **headers: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/metrics", headers=headers)).text


async def _open_until_relayed(
    stack: AsyncExitStack, url: str, init: dict[str, str] | None, most: int, **headers: str
) -> list[WsClient]:
    """Subscribers of DOCUMENT, connected one by one until the kernel handed at least one to the
    process that does not compute (uvicorn's workers accept from one socket)."""
    clients: list[WsClient] = []
    for _ in range(most):
        client = await stack.enter_async_context(WsClient.connect(url, init))
        await client.subscribe("s", DOCUMENT)
        await client.next_data("s")
        clients.append(client)
        text = await _metrics(url, **headers)
        if len(clients) >= 4 and metric(text, "insights_subscription_relayed_groups") >= 1:
            break
    return clients


async def _one_change(url: str, clients: list[WsClient], sid: str) -> tuple[float, float, float]:
    """(computations, statements, slowest arrival in s) of one posted change."""
    before = await _metrics(url)
    posted = await post_events(url, call_waiting(sid))
    slowest = 0.0
    for client in clients:
        data = await client.next_data("s", timeout=3)
        slowest = max(slowest, time.monotonic() - posted)
        assert {"queue": "Sales", "waitingTasks": int(sid[-1]), "activeTasks": 0} in data[
            "realtime"
        ]["queues"]
    await _settle()
    after = await _metrics(url)

    def delta(name: str) -> float:
        return metric(after, name) - metric(before, name)

    return (
        delta("insights_subscription_computations_total"),
        delta("insights_subscription_statements_total"),
        slowest,
    )


async def _settle() -> None:
    await asyncio.sleep(0.3)  # the groups' bookkeeping after their last send


async def test_identical_subscribers_in_both_processes_cost_one_computation(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with served(database_url(engine), tmp_path / "server.log", workers=2) as url:
        await post_events(
            url, call_waiting("X0", "Support")
        )  # queues exist: the picture's full shape
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(WsClient.connect(url))
            await first.subscribe("s", DOCUMENT)
            await first.next_data("s")
            alone = await _one_change(url, [first], "A1")
            others = await _open_until_relayed(stack, url, None, most=24)
            text = await _metrics(url)
            # the subscribers are in both processes; only one computes their subscription
            assert metric(text, "insights_subscription_relayed_groups") == 1
            assert metric(text, "insights_subscription_groups") == 1
            crowd = await _one_change(url, [first, *others], "B2")
        text = await _metrics(url)
    assert alone[0] == 1 and alone[1] > 0
    assert crowd[:2] == alone[:2]  # one computation, the same statements, for all of them
    assert alone[2] < 1.0 and crowd[2] < 1.0  # each subscriber had the change within a second
    assert metric(text, "insights_subscriptions") == 0  # every one closed, in both processes


async def test_relayed_subscriptions_keep_each_viewers_scope(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    at = int(time.time())
    env = {"INSIGHTS_JWT_SECRET": SECRET}
    admin = jwt.encode({"sub": "root", "role": "admin", "exp": at + 600}, SECRET)
    ada = jwt.encode({"sub": "ada", "role": "agent", "agentId": "WKada", "exp": at + 600}, SECRET)
    bob = jwt.encode({"sub": "bob", "role": "agent", "agentId": "WKbob", "exp": at + 600}, SECRET)
    bearer = {"Authorization": f"Bearer {admin}"}
    with served(
        database_url(engine), tmp_path / "server.log", workers=2, auth="on", env=env
    ) as url:
        await post_events(
            url, [created(at, "WKada", "Available"), created(at, "WKbob", "Available")], **bearer
        )
        # Ada took a Sales call, Bob a Support one: each agent's picture has one queue
        for sid, worker, queue in (("A", "WKada", "Sales"), ("B", "WKbob", "Support")):
            await post_events(url, call_waiting(sid, queue), **bearer)
            offered = [
                reservation(kind, at + 1, sid, worker, queue)
                for kind in ("reservation.created", "reservation.accepted")
            ]
            await post_events(url, offered, **bearer)
        async with AsyncExitStack() as stack:
            viewers = {"ada": ada, "bob": bob, "admin": admin}
            clients: dict[str, list[WsClient]] = {name: [] for name in viewers}
            first: dict[int, list[dict[str, object]]] = {}
            # each viewer on several connections, until every viewer's group is relayed by the
            # process that does not compute it (the kernel picks which worker accepts each one)
            for _ in range(24):
                for name, token in viewers.items():
                    client = await stack.enter_async_context(
                        WsClient.connect(url, {"Authorization": f"Bearer {token}"})
                    )
                    await client.subscribe("s", DOCUMENT)
                    first[id(client)] = (await client.next_data("s"))["realtime"]["queues"]
                    clients[name].append(client)
                relayed = metric(
                    await _metrics(url, **bearer), "insights_subscription_relayed_groups"
                )
                if relayed >= len(viewers):
                    break
            assert relayed == len(viewers)
            shown = {"ada": [("Sales", 1)], "bob": [("Support", 1)]}  # (queue, activeTasks)
            for name, expected in shown.items():
                for client in clients[name]:
                    assert [(q["queue"], q["activeTasks"]) for q in first[id(client)]] == expected
            for client in clients["admin"]:
                assert {q["queue"] for q in first[id(client)]} == {"Sales", "Support"}
            # a call waits in Support: Bob's picture and the admin's change, Ada's does not
            await post_events(url, call_waiting("C", "Support"), **bearer)
            for client in clients["bob"] + clients["admin"]:
                queues = (await client.next_data("s", timeout=2))["realtime"]["queues"]
                assert _waiting(queues, "Support") == _waiting(first[id(client)], "Support") + 1
            for client in clients["ada"]:
                with pytest.raises(TimeoutError):
                    await client.next_data("s", timeout=0.3)


def _waiting(queues: list[dict[str, object]], name: str) -> int:
    return int(next(q["waitingTasks"] for q in queues if q["queue"] == name))  # type: ignore[call-overload]


async def test_when_the_leader_goes_a_follower_computes_and_its_subscribers_go_on(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Two hubs (as two processes) given one directory: the second relays the first's results;
    when the first stops, the second takes the lead and its subscriber misses no change."""
    clock = iter(range(T0, T0 + 1000))
    options = Options(clock=lambda: float(next(clock)), coalesce_seconds=0.0)
    feed = ChangeFeed(engine)  # not started: the test announces the changes itself
    shared_dir = tmp_path / "live"
    shared_dir.mkdir(mode=0o700)

    def hub() -> Hub:
        pictures = LivePictures()

        def make_context(viewer: Viewer) -> Context:
            return Context(
                engine=engine, options=options, viewer=viewer, changes=feed, live_pictures=pictures
            )

        return Hub(build_schema(), make_context, max_subscriptions=10, sharing_dir=shared_dir)

    leader, follower = hub(), hub()
    key = Key.of("subscription { realtime { asOf } }", None, None, Viewer.system())
    first = leader.open(key)
    ahead = first.results()
    await asyncio.wait_for(anext(ahead), 5)
    assert leader.sharing is not None and follower.sharing is not None
    relayed = follower.open(key)
    results = relayed.results()
    instants = [(await asyncio.wait_for(anext(results), 5)).payload]
    assert follower.sharing._link is not None and not follower.sharing.leading
    feed.bump()
    instants.append((await asyncio.wait_for(anext(results), 5)).payload)
    leader.close(first)
    await leader.stop()  # the leading process exits
    feed.bump()
    instants.append((await asyncio.wait_for(anext(results), 5)).payload)
    assert follower.sharing.leading  # it took the lead and computes the subscription itself
    feed.bump()
    instants.append((await asyncio.wait_for(anext(results), 5)).payload)
    assert len({json.dumps(i) for i in instants}) == 4  # every change, none twice
    follower.close(relayed)
    await follower.stop()
