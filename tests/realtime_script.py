"""A scripted stretch of a contact-center day as TaskRouter event callbacks, with the live
picture expected after each step (worked out by hand from the rules in resolvers/realtime.py).

Ada and Bob are in team T1, Cy in T2. Tasks: A (Sales, Ada), B (Sales, missed by Bob, moved to
Support, abandoned), C (Sales, Cy) transferred to Support as task D (Bob).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

T0 = int(datetime(2026, 3, 20, 9, 0, tzinfo=UTC).timestamp())
TEAMS = {"WKada": "T1", "WKbob": "T1", "WKcy": "T2"}
NAMES = {"WKada": "Ada", "WKbob": "Bob", "WKcy": "Cy"}


def _worker(kind: str, at: int, worker: str, activity: str, **more: Any) -> dict[str, Any]:
    attributes = {"full_name": NAMES[worker], "team_id": TEAMS[worker], "team_name": TEAMS[worker]}
    return {
        "EventType": kind, "Timestamp": at, "WorkerSid": worker, "WorkerName": NAMES[worker],
        "WorkerAttributes": json.dumps(attributes), "WorkerActivityName": activity, **more,
    }  # fmt: skip


def created(at: int, worker: str, activity: str) -> dict[str, Any]:
    return _worker("worker.created", at, worker, activity)


def activity(at: int, worker: str, new: str, previous: str, since: int) -> dict[str, Any]:
    return _worker(
        "worker.activity.update", at, worker, new,
        WorkerPreviousActivityName=previous, WorkerTimeInPreviousActivity=at - since,
    )  # fmt: skip


def task(kind: str, at: int, sid: str, queue: str | None = None, **more: Any) -> dict[str, Any]:
    event = {
        "EventType": kind, "Timestamp": at, "TaskSid": f"WT{sid}",
        "TaskChannelUniqueName": "voice",
        "TaskAttributes": json.dumps({"direction": "inbound", "call_sid": f"CA{sid}"}),
    }  # fmt: skip
    if queue:
        event["TaskQueueName"] = queue
    return event | more


def call_waiting(sid: str, queue: str = "Sales") -> list[dict[str, Any]]:
    """A call created now and waiting in `queue`: what makes a live picture move."""
    at = int(time.time())
    return [task("task.created", at, sid), task("task-queue.entered", at, sid, queue)]


def transfer_leg(kind: str, at: int, sid: str, queue: str, call: str) -> dict[str, Any]:
    """A task created by a transfer: its own SID, the call (conversation) of the first leg."""
    event = task(kind, at, sid, queue)
    event["TaskAttributes"] = json.dumps({"direction": "inbound", "call_sid": f"CA{call}"})
    return event


def reservation(kind: str, at: int, sid: str, worker: str, queue: str) -> dict[str, Any]:
    return task(kind, at, sid, queue) | {"ReservationSid": f"WR{sid}{worker}", "WorkerSid": worker}


@dataclass(frozen=True)
class Q:
    """An expected queue row (defaults: nothing waiting, nobody, nothing today)."""

    queue: str
    waitingTasks: int = 0
    longestWait: int | None = None
    activeTasks: int = 0
    wrappingTasks: int = 0
    agentsAvailable: int = 0
    agentsUnavailable: int = 0
    agentsOffline: int = 0
    handledToday: int = 0
    abandonedToday: int = 0
    serviceLevelToday: float | None = None
    serviceLevelLast30Minutes: float | None = None


@dataclass(frozen=True)
class A:
    """An expected agent row."""

    agentId: str
    activity: str | None
    since: int | None
    activeTasks: int = 0
    queues: tuple[str, ...] = ()


@dataclass
class Step:
    name: str
    at: int  # the picture is asked for 5 s after this instant
    events: list[dict[str, Any]]
    queues: list[Q]
    agents: list[A] = field(default_factory=list)


def _sl(value: float | None) -> dict[str, float | None]:
    return {"serviceLevelToday": value, "serviceLevelLast30Minutes": value}


ADA_AVAILABLE = A("WKada", "Available", T0)
BOB_OFFLINE = A("WKbob", "Offline", T0)
BOB_AVAILABLE = A("WKbob", "Available", T0 + 20)
CY_AVAILABLE = A("WKcy", "Available", T0)
ADA_BUSY = A("WKada", "Busy", T0 + 81, 1, ("Sales",))

STEPS: list[Step] = [
    Step("agents log in", T0,
         [created(T0, "WKada", "Available"), created(T0, "WKbob", "Offline"),
          created(T0, "WKcy", "Available")],
         [], [ADA_AVAILABLE, BOB_OFFLINE, CY_AVAILABLE]),
    Step("an agent changes activity", T0 + 20,
         [activity(T0 + 20, "WKbob", "Available", "Offline", T0)],
         [], [ADA_AVAILABLE, BOB_AVAILABLE, CY_AVAILABLE]),
    Step("a call waits", T0 + 60,
         [task("task.created", T0 + 60, "A"), task("task-queue.entered", T0 + 60, "A", "Sales")],
         [Q("Sales", 1, 5, **_sl(0.0))]),
    Step("it rings an agent: still waiting", T0 + 70,
         [reservation("reservation.created", T0 + 70, "A", "WKada", "Sales")],
         [Q("Sales", 1, 15, **_sl(0.0))]),
    Step("accepted", T0 + 80,
         [reservation("reservation.accepted", T0 + 80, "A", "WKada", "Sales")],
         [Q("Sales", activeTasks=1, agentsAvailable=1, **_sl(1.0))],
         [A("WKada", "Available", T0, 1, ("Sales",)), BOB_AVAILABLE, CY_AVAILABLE]),
    Step("the agent goes busy", T0 + 81,
         [activity(T0 + 81, "WKada", "Busy", "Available", T0)],
         [Q("Sales", activeTasks=1, agentsUnavailable=1, **_sl(1.0))],
         [ADA_BUSY, BOB_AVAILABLE, CY_AVAILABLE]),
    Step("a second call waits", T0 + 100,
         [task("task.created", T0 + 100, "B"), task("task-queue.entered", T0 + 100, "B", "Sales")],
         [Q("Sales", 1, 5, 1, agentsUnavailable=1, **_sl(0.5))]),
    Step("missed by an agent", T0 + 120,
         [reservation("reservation.created", T0 + 105, "B", "WKbob", "Sales"),
          reservation("reservation.timeout", T0 + 120, "B", "WKbob", "Sales")],
         [Q("Sales", 1, 25, 1, agentsAvailable=1, agentsUnavailable=1, **_sl(0.5))],
         [ADA_BUSY, A("WKbob", "Available", T0 + 20, 0, ("Sales",)), CY_AVAILABLE]),
    Step("moved to another queue", T0 + 130,
         [task("task-queue.moved", T0 + 130, "B", "Support")],
         [Q("Sales", 0, None, 1, agentsAvailable=1, agentsUnavailable=1, **_sl(1.0)),
          Q("Support", 1, 5, **_sl(0.0))]),
    Step("wrap-up", T0 + 200,
         [reservation("reservation.wrapup", T0 + 200, "A", "WKada", "Sales"),
          task("task.wrapup", T0 + 200, "A")],
         [Q("Sales", 0, None, 0, 1, agentsAvailable=1, agentsUnavailable=1, **_sl(1.0)),
          Q("Support", 1, 75, **_sl(0.0))],
         [ADA_BUSY, A("WKbob", "Available", T0 + 20, 0, ("Sales",)), CY_AVAILABLE]),
    Step("completed", T0 + 230,
         [reservation("reservation.completed", T0 + 230, "A", "WKada", "Sales"),
          task("task.completed", T0 + 230, "A")],
         [Q("Sales", agentsAvailable=1, agentsUnavailable=1, handledToday=1, **_sl(1.0)),
          Q("Support", 1, 105, **_sl(0.0))],
         [A("WKada", "Busy", T0 + 81, 0, ("Sales",)),
          A("WKbob", "Available", T0 + 20, 0, ("Sales",)), CY_AVAILABLE]),
    Step("abandoned", T0 + 300,
         [task("task.canceled", T0 + 300, "B", TaskCanceledReason="Customer Hung Up")],
         [Q("Sales", agentsAvailable=1, agentsUnavailable=1, handledToday=1, **_sl(1.0)),
          Q("Support", abandonedToday=1, **_sl(0.0))]),
    Step("a third call is accepted at once", T0 + 410,
         [task("task.created", T0 + 400, "C"), task("task-queue.entered", T0 + 400, "C", "Sales"),
          reservation("reservation.created", T0 + 405, "C", "WKcy", "Sales"),
          reservation("reservation.accepted", T0 + 410, "C", "WKcy", "Sales")],
         [Q("Sales", 0, None, 1, 0, 2, 1, 0, 1, **_sl(1.0)),
          Q("Support", abandonedToday=1, **_sl(0.0))],
         [A("WKada", "Busy", T0 + 81, 0, ("Sales",)),
          A("WKbob", "Available", T0 + 20, 0, ("Sales",)),
          A("WKcy", "Available", T0, 1, ("Sales",))]),
    Step("transferred to another queue", T0 + 500,
         [task("task.transfer-initiated", T0 + 500, "C"),
          transfer_leg("task.created", T0 + 500, "D", "Support", "C"),
          transfer_leg("task-queue.entered", T0 + 500, "D", "Support", "C")],
         [Q("Sales", 0, None, 1, 0, 2, 1, 0, 1, **_sl(1.0)),
          Q("Support", 1, 5, abandonedToday=1, **_sl(0.0))]),
    Step("the first leg wraps up", T0 + 520,
         [reservation("reservation.wrapup", T0 + 520, "C", "WKcy", "Sales")],
         [Q("Sales", 0, None, 0, 1, 2, 1, 0, 1, **_sl(1.0)),
          Q("Support", 1, 25, abandonedToday=1, **_sl(0.0))]),
    Step("the second leg is accepted", T0 + 530,
         [transfer_leg("reservation.created", T0 + 525, "D", "Support", "C")
          | {"ReservationSid": "WRDbob", "WorkerSid": "WKbob"},
          transfer_leg("reservation.accepted", T0 + 530, "D", "Support", "C")
          | {"ReservationSid": "WRDbob", "WorkerSid": "WKbob"}],
         [Q("Sales", 0, None, 0, 1, 2, 1, 0, 1, **_sl(1.0)),
          Q("Support", 0, None, 1, 0, 1, abandonedToday=1, **_sl(0.5))],
         [A("WKada", "Busy", T0 + 81, 0, ("Sales",)),
          A("WKbob", "Available", T0 + 20, 1, ("Sales", "Support")),
          A("WKcy", "Available", T0, 1, ("Sales",))]),
    Step("an agent logs off with a call in hand", T0 + 600,
         [activity(T0 + 600, "WKbob", "Offline", "Available", T0 + 20)],
         [Q("Sales", 0, None, 0, 1, 1, 1, 1, 1, **_sl(1.0)),
          Q("Support", 0, None, 1, 0, 0, 0, 1, abandonedToday=1, **_sl(0.5))],
         [A("WKada", "Busy", T0 + 81, 0, ("Sales",)),
          A("WKbob", "Offline", T0 + 600, 1, ("Sales", "Support")),
          A("WKcy", "Available", T0, 1, ("Sales",))]),
    Step("both legs completed", T0 + 700,
         [reservation("reservation.completed", T0 + 700, "C", "WKcy", "Sales"),
          task("task.completed", T0 + 700, "C"),
          transfer_leg("reservation.completed", T0 + 700, "D", "Support", "C")
          | {"ReservationSid": "WRDbob", "WorkerSid": "WKbob"},
          transfer_leg("task.completed", T0 + 700, "D", "Support", "C")],
         [Q("Sales", 0, None, 0, 0, 1, 1, 1, 2, **_sl(1.0)),
          Q("Support", 0, None, 0, 0, 0, 0, 1, 1, 1, **_sl(0.5))],
         [A("WKada", "Busy", T0 + 81, 0, ("Sales",)),
          A("WKbob", "Offline", T0 + 600, 0, ("Sales", "Support")),
          A("WKcy", "Available", T0, 0, ("Sales",))]),
    Step("an hour later, nothing in the last 30 minutes", T0 + 3600, [],
         [Q("Sales", 0, None, 0, 0, 1, 1, 1, 2, 0, 1.0, None),
          Q("Support", 0, None, 0, 0, 0, 0, 1, 1, 1, 0.5, None)]),
]  # fmt: skip
