"""The demo contact center as TaskRouter events (JSON Lines), so its traffic can be replayed.

Events are made from the rows the demo writes, so ingesting them must give those rows back: the
round-trip test holds the ingest to the demo and the demo to the spec. Each task's segments become
the task, queue and reservation events that produce them; agents and their status segments become
worker events carrying the agent's attributes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any, TextIO

from warehouse import derive
from warehouse.demo_catalog import OFFLINE

Row = dict[str, Any]
Event = dict[str, Any]

RESERVATION_END = {
    "MISSED_CONVERSATION": "reservation.timeout",
    "REJECTED_CONVERSATION": "reservation.rejected",
    "REVOKED_CONVERSATION": "reservation.rescinded",
}
TASK_CHANNEL = {"Call": "voice", "Chat": "chat", "SMS": "sms"}
HANDLED_KINDS = ("CONVERSATION", "CONVERSATION_IN_PROGRESS")
# segment columns the events themselves carry (times, queue, agent): not task attributes
FROM_EVENTS = frozenset(
    {
        "queue", "queue_time", "ring_time", "talk_time", "wrap_up_time", "abandon_time",
        "activity", "activity_time", "outcome", "abandoned", "abandoned_phase", "workflow",
        "conversation_id", "customer_id", "direction", "communication_channel",
    }
)  # fmt: skip
HANDLING_KEYS = [
    c
    for c in derive.SEGMENT_COLUMNS
    if c not in derive.TASK_WIDE and c not in derive.NOT_SEGMENT_KEYS and c not in FROM_EVENTS
]


def _ms(instant: int) -> int:
    return instant * 1000


def _epoch_ms(day: date | None) -> int | None:
    """A date as TaskRouter worker attributes hold it: epoch milliseconds of its UTC midnight."""
    if day is None:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class DemoEventWriter:
    """Writes the demo's traffic as event-callback payloads, one JSON object a line."""

    def __init__(self, stream: TextIO, hierarchy: dict[str, Row], customers: list[Row]) -> None:
        self.stream = stream
        self.hierarchy = hierarchy  # campaign id -> {campaign, project, initiative} names
        self.customers = {c["customer_id"]: c for c in customers}
        self.case_names: dict[str, str] = {}
        self.pending_workers: list[Event] = []
        self.written = 0

    # --- workers -------------------------------------------------------------------------------

    def add_workers(self, agents: Iterable[Any], teams: dict[str, Row], departments: dict[str, Row],
                    start: int) -> None:  # fmt: skip
        """Every agent's worker events: created, activity changes, team move, deletion."""
        found: list[Event] = []
        for agent in agents:
            row = agent.row
            current = self._attributes(row, teams, departments, row["team_id"])
            first = current
            if agent.previous_team is not None:
                first = self._attributes(row, teams, departments, agent.previous_team[0])
                moved = agent.previous_team[2]
                found.append(self._worker("worker.attributes.update", row, moved, current))
            statuses = agent.statuses
            created = self._worker("worker.created", row, start, first)
            created["WorkerActivityName"] = statuses[0][1] if statuses else OFFLINE
            found.append(created)
            for (before, previous), (at, activity) in pairwise(statuses):
                attributes = (
                    first if agent.previous_team and at < agent.previous_team[2] else current
                )
                event = self._worker("worker.activity.update", row, at, attributes)
                event["WorkerActivityName"] = activity
                event["WorkerPreviousActivityName"] = previous
                event["WorkerTimeInPreviousActivity"] = at - before
                found.append(event)
            if row["state"] == "Deleted" and statuses:
                found.append(self._worker("worker.deleted", row, statuses[-1][0], current))
        self.pending_workers = sorted(found, key=lambda e: (e["TimestampMs"], e["Sid"]))

    @staticmethod
    def _attributes(
        row: Row, teams: dict[str, Row], departments: dict[str, Row], team_id: str
    ) -> str:
        team = teams[team_id]
        department = departments[team["department_id"]]
        attributes = {
            "full_name": row["full_name"], "email": row["email"], "phone": row["phone"],
            "location": row["location"], "manager": row["manager"], "role": row["role"],
            "state": row["state"], "agent_id": row["external_agent_id"],
            "agent_attribute_1": row["agent_attribute_1"],
            "agent_attribute_2": row["agent_attribute_2"],
            "agent_attribute_3": row["agent_attribute_3"],
            "team_id": team["team_id"], "team_name": team["name"],
            "team_name_in_hierarchy": team["name_in_hierarchy"],
            "department_id": department["department_id"], "department_name": department["name"],
            "department_name_in_hierarchy": department["name_in_hierarchy"],
            "date_joined": _epoch_ms(row["date_joined"]), "date_left": _epoch_ms(row["date_left"]),
        }  # fmt: skip
        return json.dumps({k: v for k, v in attributes.items() if v is not None})

    @staticmethod
    def _worker(kind: str, row: Row, at: int, attributes: str) -> Event:
        return {
            "EventType": kind,
            "Sid": _sid(kind, row["agent_id"], at),
            "TimestampMs": _ms(at),
            "WorkerSid": row["agent_id"],
            "WorkerName": row["full_name"],
            "WorkerAttributes": attributes,
        }

    # --- tasks ---------------------------------------------------------------------------------

    def add_cases(self, cases: Iterable[Row]) -> None:
        self.case_names.update((c["case_id"], c["name"]) for c in cases)

    def write_day(self, segments: list[Row], conversations: list[Row], until: int | None) -> None:
        """A day's task events, with the worker events before `until`, in time order."""
        by_conversation = {c["conversation_id"]: c for c in conversations}
        by_task: dict[str, list[Row]] = {}
        for row in segments:
            by_task.setdefault(row["external_id"], []).append(row)
        found: list[Event] = []
        for task_sid, rows in by_task.items():
            found += self._task(task_sid, rows, by_conversation[rows[0]["conversation_id"]])
        keep: list[Event] = []
        for event in self.pending_workers:
            (found if until is None or event["TimestampMs"] < _ms(until) else keep).append(event)
        self.pending_workers = keep
        found.sort(key=lambda e: (e["TimestampMs"], e["Sid"]))
        for event in found:
            self.stream.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.written += len(found)

    def _task(self, task_sid: str, rows: list[Row], conversation: Row) -> list[Event]:
        first = rows[0]
        handled = next((r for r in rows if r["kind"] in HANDLED_KINDS), None)
        queue = next((r for r in rows if r["kind"] == "QUEUE"), None)
        channel = first["communication_channel"]
        shared: Row = {
            "TaskSid": task_sid,
            "TaskChannelUniqueName": TASK_CHANNEL[channel],
            "WorkflowName": first["workflow"],
            "TaskAttributes": json.dumps(self._task_attributes(rows, conversation, handled)),
        }
        events: list[Event] = []

        def add(kind: str, at: int, **values: Any) -> None:
            resource = values.get("ReservationSid", task_sid)
            event = {"EventType": kind, "Sid": _sid(kind, resource, at), "TimestampMs": _ms(at)}
            events.append(event | shared | values)

        queue_name = (queue or handled or first)["queue"]
        if queue is not None:
            add("task.created", queue["started_at"], TaskQueueName=queue_name)
            add("task-queue.entered", queue["started_at"], TaskQueueName=queue_name)
        elif handled is not None:
            add("task.created", handled["started_at"] - handled["ring_time"])
        for row in rows:
            worker = {"WorkerSid": row["agent_id"], "ReservationSid": row["segment_id"],
                      "TaskQueueName": row["queue"]}  # fmt: skip
            if row["kind"] in RESERVATION_END:
                add("reservation.created", row["started_at"], **worker)
                end = row["started_at"] + row["ring_time"]
                add(RESERVATION_END[row["kind"]], end, Reason=row["outcome"], **worker)
            elif row["kind"] in HANDLED_KINDS and row["agent_id"]:
                accepted = row["started_at"]
                add("reservation.created", accepted - row["ring_time"], **worker)
                add("reservation.accepted", accepted, **worker)
                if row["talk_time"] is None:
                    continue  # still talking
                wrapup = accepted + row["talk_time"]
                add("reservation.wrapup", wrapup, **worker)
                if row["wrap_up_time"] is None:
                    continue  # still wrapping up
                completed = wrapup + row["wrap_up_time"]
                add("reservation.completed", completed, **worker)
                add("task.completed", completed, TaskCompletedReason=row["outcome"])
            elif row["kind"] == "CONVERSATION":
                add("task.canceled", row["started_at"], TaskCanceledReason=row["outcome"])
        return events

    def _task_attributes(self, rows: list[Row], conversation: Row, handled: Row | None) -> Row:
        first = rows[0]
        conversations: Row = {"conversation_id": first["conversation_id"]}
        for key in derive.TASK_WIDE:
            if first.get(key) is not None:
                conversations[key] = first[key]
        conversations.pop("workflow", None)
        conversations.pop("communication_channel", None)
        if handled is not None:
            for key in HANDLING_KEYS:
                if handled[key] is not None:
                    conversations[key] = handled[key]
            if handled["abandoned"] != "NO":
                conversations["abandoned"] = handled["abandoned"]
                conversations["abandoned_phase"] = handled["abandoned_phase"]
        if conversation["case_id"]:
            conversations["case"] = self.case_names[conversation["case_id"]]
        if conversation["campaign_id"]:
            conversations |= self.hierarchy[conversation["campaign_id"]]
        customer = self.customers[first["customer_id"]]
        return {
            "direction": first["direction"].lower(),
            "conversations": conversations,
            "customers": {"external_id": customer["customer_id"]}
            | {k: _json(v) for k, v in customer.items() if v is not None and k != "customer_id"},
        }


def _sid(kind: str, resource: str, at: int) -> str:
    return "EV" + hashlib.sha256(f"{kind}|{resource}|{at}".encode()).hexdigest()[:32]
