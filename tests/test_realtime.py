"""`realtime`: the live picture after each event of a scripted day posted to `POST /events`,
row scope per role, agreement with `report` for the same day, and a fixed statement count."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import Options
from resolvers.viewer import Role, Viewer
from tests.conftest import DEMO_END, Gateway
from tests.helpers import app_client
from tests.ingest_helpers import fresh_engine
from tests.realtime_script import STEPS, T0, A, Q

QUEUE_FIELDS = " ".join(f.name for f in dataclasses.fields(Q))
PICTURE = (
    """query($queues: RealtimeQueueFilter, $agents: RealtimeAgentFilter) { realtime {
  asOf queues(filter: $queues) { %s }
  agents(filter: $agents) { agent { agentId fullName } activity activitySince activeTasks queues }
} }"""
    % QUEUE_FIELDS
)
TODAY_REPORT = """query($from: DateTime!, $to: DateTime!) {
  report(groupBy: [QUEUE], from: $from, to: $to) {
    rows { key { queue } metrics { handledConversations abandonedConversations serviceLevel } }
} }"""
SUPERVISOR = Viewer(Role.SUPERVISOR, "sup-1", team_ids=frozenset({"T1"}))
ADA = Viewer(Role.AGENT, "ada", agent_id="WKada")


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _agent(row: dict[str, Any]) -> A:
    since = row["activitySince"]
    return A(
        row["agent"]["agentId"],
        row["activity"],
        int(datetime.fromisoformat(since).timestamp()) if since else None,
        row["activeTasks"],
        tuple(row["queues"]),
    )


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "realtime.db")
    yield engine
    await engine.dispose()


async def _play(engine: AsyncEngine, steps: int | None = None) -> None:
    async with app_client(engine, auth="off") as http:
        for step in STEPS[:steps]:
            if step.events:
                answer = await http.post("/events", json=step.events)
                assert answer.status_code == 200, answer.text


def _at(seconds: int) -> Options:
    return Options(clock=lambda: float(seconds))


async def test_each_event_of_a_scripted_day_moves_the_picture(engine: AsyncEngine) -> None:
    clock = [float(T0)]
    gw = Gateway(engine, Options(clock=lambda: clock[0]))
    agents: list[A] = []
    async with app_client(engine, auth="off") as http:
        for step in STEPS:
            if step.events:
                answer = await http.post("/events", json=step.events)
                assert answer.status_code == 200, answer.text
                assert answer.json()["applied"] == len(step.events)
            clock[0] = step.at + 5.5  # the picture is to the whole second
            with gw.counting() as statements:
                picture = (await gw.query(PICTURE))["realtime"]
            assert picture["asOf"] == _iso(step.at + 5), step.name
            assert picture["queues"] == [dataclasses.asdict(q) for q in step.queues], step.name
            agents = step.agents or agents
            assert [_agent(a) for a in picture["agents"]] == agents, step.name
            # names; work, agent states, today, last 30 minutes; agents, their queues
            assert len(statements) == (7 if step.queues else 3), step.name


async def test_filters_keep_matching_queues_and_agents(engine: AsyncEngine) -> None:
    await _play(engine)
    gw = Gateway(engine, _at(T0 + 705))
    picture = (
        await gw.query(
            PICTURE,
            {
                "queues": {"queue": {"eq": "Support"}},
                "agents": {"queue": {"in": ["Support"]}, "activity": {"ne": "Busy"}},
            },
        )
    )["realtime"]
    assert [q["queue"] for q in picture["queues"]] == ["Support"]
    assert [a["agent"]["agentId"] for a in picture["agents"]] == ["WKbob"]
    busy = (await gw.query(PICTURE, {"agents": {"activity": {"eq": "Busy"}}}))["realtime"]
    assert [a["agent"]["fullName"] for a in busy["agents"]] == ["Ada"]


async def test_a_supervisor_sees_their_teams_and_an_agent_their_own(engine: AsyncEngine) -> None:
    await _play(engine, steps=-2)  # Bob holds the transferred call, Cy wraps up the first leg
    at = STEPS[-3].at + 5
    supervisor = (await Gateway(engine, _at(at), SUPERVISOR).query(PICTURE))["realtime"]
    # T1 is Ada and Bob: Cy's call and the agent-less queue and abandon rows are not theirs,
    # but what waits in a queue they serve is shown whole
    assert supervisor["queues"] == [
        dataclasses.asdict(Q("Sales", agentsUnavailable=1, agentsOffline=1, handledToday=1)),
        dataclasses.asdict(Q("Support", activeTasks=1, agentsOffline=1)),
    ]
    assert [a["agent"]["agentId"] for a in supervisor["agents"]] == ["WKada", "WKbob"]
    ada = (await Gateway(engine, _at(at), ADA).query(PICTURE))["realtime"]
    assert ada["queues"] == [
        dataclasses.asdict(Q("Sales", agentsUnavailable=1, handledToday=1)),
    ]
    assert [_agent(a) for a in ada["agents"]] == [A("WKada", "Busy", T0 + 81, 0, ("Sales",))]
    nobody = Viewer(Role.AGENT, "ghost", agent_id=None)
    empty = (await Gateway(engine, _at(at), nobody).query(PICTURE))["realtime"]
    assert empty["queues"] == [] and empty["agents"] == []


async def test_waiting_tasks_are_shown_whole_in_the_queues_a_viewer_serves(
    engine: AsyncEngine,
) -> None:
    await _play(engine, steps=8)  # B waits in Sales; Ada and Bob (T1) serve Sales
    at = STEPS[7].at + 5
    for viewer in (SUPERVISOR, ADA):
        picture = (await Gateway(engine, _at(at), viewer).query(PICTURE))["realtime"]
        sales = picture["queues"][0]
        assert (sales["queue"], sales["waitingTasks"], sales["longestWait"]) == ("Sales", 1, 25)


@pytest.mark.parametrize("viewer", [Viewer.system(), SUPERVISOR, ADA], ids=lambda v: v.role.value)
async def test_todays_numbers_agree_with_report(engine: AsyncEngine, viewer: Viewer) -> None:
    await _play(engine)
    at = T0 + 705
    await _agree(Gateway(engine, _at(at), viewer), at)


async def test_todays_numbers_agree_with_report_on_the_demo(gw: Gateway) -> None:
    noon = int(datetime(DEMO_END.year, DEMO_END.month, DEMO_END.day, 12, tzinfo=UTC).timestamp())
    at = noon - 86_400
    demo = Gateway(gw.engine, _at(at))
    queues = await _agree(demo, at)
    assert len(queues) > 1 and sum(q["handledToday"] for q in queues) > 0
    teams = await demo.query("{ teams(first: 2) { nodes { teamId } } }")
    team_ids = frozenset(n["teamId"] for n in teams["teams"]["nodes"])
    supervisor = Viewer(Role.SUPERVISOR, "s", team_ids=team_ids)
    assert await _agree(Gateway(gw.engine, _at(at), supervisor), at)


async def _agree(gw: Gateway, at: int) -> list[dict[str, Any]]:
    midnight = datetime.fromtimestamp(at, UTC).replace(hour=0, minute=0, second=0)
    report = await gw.query(
        TODAY_REPORT,
        {"from": midnight.isoformat(), "to": (midnight + timedelta(days=1)).isoformat()},
    )
    by_queue = {r["key"]["queue"]: r["metrics"] for r in report["report"]["rows"]}
    queues = (await gw.query(PICTURE))["realtime"]["queues"]
    for queue in queues:
        metrics = by_queue.get(
            queue["queue"],
            {"handledConversations": 0, "abandonedConversations": 0, "serviceLevel": None},
        )
        assert (queue["handledToday"], queue["abandonedToday"], queue["serviceLevelToday"]) == (
            metrics["handledConversations"],
            metrics["abandonedConversations"],
            metrics["serviceLevel"],
        ), queue["queue"]
    return queues  # type: ignore[no-any-return]
