"""Live demo traffic: the demo contact center's calls, happening now, as TaskRouter events.

`serve --demo-traffic` runs this beside the server so the wallboard and the subscriptions move on
a laptop with no TaskRouter account. Calls arrive at random (Poisson) in the demo's queues with
the demo's shares, at the rate of the demo's day (its hourly curve in the workspace time zone and
its quieter weekends, the busiest hour at `calls_per_minute`, the night kept at a quarter of that so
the demo still moves), wait, are offered to an available agent of a department staffing the queue,
are talked, wrapped up and completed, or are abandoned when nobody answers in time; agents take
breaks. Every event goes through `Ingestor.apply`, the path `POST /events` takes, with the
current time as its timestamp, so the warehouse is written exactly as real traffic would write it.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse import tables as t
from warehouse.demo_catalog import AVAILABLE, HOURLY_TRAFFIC, OFFLINE, QUEUES, WEEKEND_TRAFFIC
from warehouse.ingest import Ingestor, RawEvent

log = logging.getLogger("insights_gateway")

SOURCE = "demo-traffic"
QUIET_FLOOR = 0.25
"""Least share of the busiest hour's rate: the demo's nights and weekends are nearly still, and a
laptop demo at night should still show calls."""
BREAK = "Break"
Event = dict[str, Any]


@dataclass
class _Agent:
    sid: str
    name: str
    department: str | None
    attributes: dict[str, Any]
    activity: str = OFFLINE
    since: int = 0
    busy: bool = False


@dataclass
class _Call:
    sid: str
    queue: str
    entered: int
    patience: int
    answered: bool = False
    gone: bool = False


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    action: Callable[[], list[Event]] = field(compare=False)


class DemoTraffic:
    """A running simulation; `run()` until cancelled."""

    def __init__(
        self,
        engine: AsyncEngine,
        tz: ZoneInfo,
        *,
        calls_per_minute: float = 40.0,
        staffed: int = 40,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.ingestor = Ingestor(engine, tz)
        self.tz = tz
        self.peak = calls_per_minute / 60.0
        self.staffed = staffed
        self.rng = random.Random(seed)
        self.clock = clock
        self.agents: list[_Agent] = []
        self.waiting: list[_Call] = []
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._calls = itertools.count(1)
        self._run_id = f"{int(clock()):x}"

    async def run(self, tick: float = 0.5) -> None:
        """Play traffic forever (cancel the task to stop)."""
        await self.start()
        while True:
            events = self.step(tick)
            if events:
                await self.apply(events)
            await asyncio.sleep(tick)

    async def start(self) -> None:
        """Pick the staff on duty among the demo's agents and log them in."""
        await self._load_staff()
        await self.apply(self._log_in())

    def step(self, tick: float) -> list[Event]:
        """The events of the `tick` seconds up to now: arrivals, due steps of calls, answers."""
        now = self.clock()
        return self._arrivals(now, tick) + self._due_events(now) + self._assign(int(now))

    async def apply(self, batch: list[Event]) -> None:
        raws = [RawEvent(json.dumps(e), SOURCE, n) for n, e in enumerate(batch, 1)]
        counts = await self.ingestor.apply(raws)
        if counts.rejected:
            log.warning("demo traffic: %s", "; ".join(counts.problems[:3]))

    async def _load_staff(self) -> None:
        a, teams, departments = t.agents, t.teams, t.departments
        statement = (
            select(a, teams.c.name.label("team_name"), departments.c.name.label("dept_name"))
            .select_from(
                a.outerjoin(teams, teams.c.team_id == a.c.team_id).outerjoin(
                    departments, departments.c.department_id == a.c.department_id
                )
            )
            .where(a.c.state.is_distinct_from("Deleted"))
            .order_by(a.c.agent_id)
        )
        async with self.engine.connect() as conn:
            rows = list((await conn.execute(statement)).mappings())
        chosen = self.rng.sample(rows, min(self.staffed, len(rows)))
        for row in chosen:
            attributes = {
                key: row[key]
                for key in ("full_name", "email", "phone", "location", "manager", "role")
                if row[key] is not None
            }
            attributes |= {
                "team_id": row["team_id"], "team_name": row["team_name"],
                "department_id": row["department_id"], "department_name": row["dept_name"],
            }  # fmt: skip
            name = row["full_name"] or row["agent_id"]
            self.agents.append(_Agent(row["agent_id"], name, row["dept_name"], attributes))
        if not self.agents:
            raise RuntimeError("demo traffic needs agents: build the demo first (`make demo`)")

    # --- agents -------------------------------------------------------------------------------

    def _activity(self, agent: _Agent, activity: str, at: int) -> Event:
        event: Event = {
            "EventType": "worker.activity.update", "Timestamp": at, "WorkerSid": agent.sid,
            "WorkerName": agent.name, "WorkerActivityName": activity,
            "WorkerAttributes": json.dumps(agent.attributes),
            "Sid": f"EV{self._run_id}{agent.sid}{at}{activity}",
        }  # fmt: skip
        if agent.since:
            event["WorkerPreviousActivityName"] = agent.activity
            event["WorkerTimeInPreviousActivity"] = max(0, at - agent.since)
        agent.activity, agent.since = activity, at
        return event

    def _log_in(self) -> list[Event]:
        now = int(self.clock())
        return [self._activity(agent, AVAILABLE, now) for agent in self.agents]

    def _take_break(self, agent: _Agent) -> list[Event]:
        now = int(self.clock())
        if agent.busy or agent.activity != AVAILABLE:
            return []
        self._later(self.rng.uniform(60, 300), lambda: self._back(agent))
        return [self._activity(agent, BREAK, now)]

    def _back(self, agent: _Agent) -> list[Event]:
        return [self._activity(agent, AVAILABLE, int(self.clock()))]

    # --- calls --------------------------------------------------------------------------------

    def _later(self, seconds: float, action: Callable[[], list[Event]]) -> None:
        heapq.heappush(self._due, _Due(self.clock() + seconds, next(self._seq), action))

    def _due_events(self, now: float) -> list[Event]:
        events: list[Event] = []
        while self._due and self._due[0].at <= now:
            events += heapq.heappop(self._due).action()
        return events

    def arrival_rate(self, now: float) -> float:
        """Calls a second at `now`: the demo's hourly traffic curve at the local hour (weekends
        at the demo's weekend share), scaled so its busiest hour is the peak rate."""
        local = datetime.fromtimestamp(now, self.tz)
        shape = HOURLY_TRAFFIC[local.hour] / max(HOURLY_TRAFFIC)
        if local.weekday() >= 5:
            shape *= WEEKEND_TRAFFIC
        return self.peak * max(QUIET_FLOOR, shape)

    def _arrivals(self, now: float, tick: float) -> list[Event]:
        events: list[Event] = []
        count = _poisson(self.rng, self.arrival_rate(now) * tick)
        for _ in range(count):
            queue = self.rng.choices(QUEUES, weights=[q.share for q in QUEUES])[0].name
            call = _Call(
                f"WT{self._run_id}{next(self._calls):06d}", queue, int(now),
                patience=int(self.rng.uniform(20, 150)),
            )  # fmt: skip
            self.waiting.append(call)
            events += [_task("task.created", call), _task("task-queue.entered", call)]
            self._later(call.patience, functools.partial(self._abandon, call))
        if self.rng.random() < tick / 20:  # now and then someone takes a break
            events += self._take_break(self.rng.choice(self.agents))
        return events

    def _abandon(self, call: _Call) -> list[Event]:
        if call.answered or call.gone:
            return []
        call.gone = True
        self.waiting.remove(call)
        canceled = _task("task.canceled", call, int(self.clock()))
        return [canceled | {"TaskCanceledReason": "Customer Hung Up"}]

    def _assign(self, now: int) -> list[Event]:
        events: list[Event] = []
        for call in list(self.waiting):
            departments = next(q.departments for q in QUEUES if q.name == call.queue)
            free = [
                a
                for a in self.agents
                if a.activity == AVAILABLE and not a.busy and a.department in departments
            ]
            if not free or now - call.entered < 3:
                continue
            agent = self.rng.choice(free)
            agent.busy, call.answered = True, True
            self.waiting.remove(call)
            reservation = {"ReservationSid": f"WR{call.sid[2:]}", "WorkerSid": agent.sid,
                           "WorkerName": agent.name}  # fmt: skip
            events.append(_task("reservation.created", call, now) | reservation)
            ring = int(self.rng.uniform(2, 8))
            talk = int(self.rng.uniform(40, 240))
            wrap = int(self.rng.uniform(10, 40))

            def accepted(call: _Call = call, reservation: Event = reservation) -> list[Event]:
                return [_task("reservation.accepted", call, int(self.clock())) | reservation]

            def wrapping(call: _Call = call, reservation: Event = reservation) -> list[Event]:
                return [_task("reservation.wrapup", call, int(self.clock())) | reservation]

            def completed(
                call: _Call = call, reservation: Event = reservation, agent: _Agent = agent
            ) -> list[Event]:
                agent.busy = False
                at = int(self.clock())
                return [
                    _task("reservation.completed", call, at) | reservation,
                    _task("task.completed", call, at) | {"TaskCompletedReason": "Resolved"},
                ]

            self._later(ring, accepted)
            self._later(ring + talk, wrapping)
            self._later(ring + talk + wrap, completed)
        return events


def _task(kind: str, call: _Call, at: int | None = None) -> Event:
    when = call.entered if at is None else at
    return {
        "EventType": kind, "Timestamp": when, "TaskSid": call.sid, "TaskQueueName": call.queue,
        "TaskChannelUniqueName": "voice", "WorkflowName": "Demo",
        "TaskAttributes": json.dumps({"direction": "inbound", "call_sid": f"CA{call.sid[2:]}"}),
        "Sid": f"EV{call.sid[2:]}{kind}{when}",
    }  # fmt: skip


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw by counting exponential gaps (means here are well below 10)."""
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def start_in_background(database_url: str, tz: ZoneInfo) -> threading.Thread:
    """Run the traffic in a thread of its own (its own event loop and engine) beside a server."""
    from warehouse.engine import create_engine

    async def play() -> None:
        engine = create_engine(database_url)
        try:
            await DemoTraffic(engine, tz).run()
        finally:
            await engine.dispose()

    def main() -> None:
        try:
            asyncio.run(play())
        except Exception:
            log.exception("demo traffic stopped")

    thread = threading.Thread(target=main, name="demo-traffic", daemon=True)
    thread.start()
    return thread
