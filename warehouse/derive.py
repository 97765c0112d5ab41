"""From TaskRouter events to warehouse rows: pure functions, no database.

A task's segments are a function of all its events, replayed in `TaskRouterEvent.sort_key` order,
so arrival order never matters. Worker events are handled one by one (each activity update closes
exactly one status interval), so a worker never needs its whole history replayed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from warehouse import tables as t
from warehouse.attributes import (
    AGENT_STRINGS,
    CUSTOMER_COLUMNS,
    NOT_SEGMENT_KEYS,
    SEGMENT_COLUMNS,
    nested,
)
from warehouse.fits import check_row, coerce
from warehouse.fits import to_date as _to_date
from warehouse.taskrouter import TaskRouterEvent

Row = dict[str, Any]

SEGMENT_DEFAULTS: Row = {c.name: None for c in t.segments.columns} | {
    "abandoned": "NO",
    "virtual": True,
}
CHANNELS = {"voice": "Call", "chat": "Chat", "sms": "SMS"}
RESERVATION_ENDS = {
    "reservation.timeout": "MISSED_CONVERSATION",
    "reservation.canceled": "MISSED_CONVERSATION",
    "reservation.rejected": "REJECTED_CONVERSATION",
    "reservation.rescinded": "REVOKED_CONVERSATION",
}
# enum columns hold GraphQL enum names; a value outside them would break every query reading it
ENUM_VALUES = {
    "direction": ({"INBOUND", "OUTBOUND", "INTERNAL", "EXTERNAL", "UNKNOWN"}, "UNKNOWN"),
    "abandoned": ({"YES", "NO", "FOLLOW_UP"}, None),
}
ABANDON_KEYS = frozenset({"abandoned", "abandoned_phase"})
# `conversations.*` keys that describe the whole task: every segment of the task gets them
TASK_WIDE = frozenset(
    {
        "communication_channel", "direction", "external_contact", "initiated_by", "ivr_path",
        "ivr_time", "language", "in_business_hours", "priority", "source", "workflow",
        *(f"conversation_attribute_{i}" for i in range(1, 11)),
    }
)  # fmt: skip
__all__ = ["NOT_SEGMENT_KEYS", "SEGMENT_COLUMNS", "TASK_WIDE", "derive_task", "status_segments"]


def _coerce(column: Any, value: Any) -> Any:
    """A task-attribute value as the column stores it (checked when its event arrived)."""
    coerced = coerce(column.name, column, value)
    if coerced is None or column.name not in ENUM_VALUES:
        return coerced
    allowed, fallback = ENUM_VALUES[column.name]
    name = str(coerced).strip().upper().replace("-", "_").replace(" ", "_")
    return name if name in allowed else fallback


def to_date(value: Any) -> date | None:
    """A date from epoch milliseconds (TaskRouter's worker attributes) or an ISO date string."""
    if value is None or value == "":
        return None
    return _to_date("date", value)


def seconds_of_day(instant: int, tz: ZoneInfo) -> int:
    local = datetime.fromtimestamp(instant, tz)
    return local.hour * 3600 + local.minute * 60 + local.second


# --- tasks -------------------------------------------------------------------------------------


@dataclass
class TaskRows:
    """Everything one task contributes to the warehouse."""

    task_sid: str
    segments: list[Row] = field(default_factory=list)
    conversation: Row | None = None
    customer: Row | None = None
    case: Row | None = None
    campaign: Row | None = None
    project: Row | None = None
    initiative: Row | None = None
    agents: dict[str, str | None] = field(default_factory=dict)  # worker sid -> worker name


@dataclass
class _Reservation:
    sid: str
    worker: str
    created: int
    queue: str | None
    queue_entered: int | None
    accepted: int | None = None
    wrapup: int | None = None
    completed: int | None = None
    ended: int | None = None
    end_kind: str | None = None
    reason: str | None = None


@dataclass
class _Queue:
    row: Row
    entered: int


def derive_task(task_sid: str, events: Iterable[TaskRouterEvent], tz: ZoneInfo) -> TaskRows:
    """The rows of one task from all its events (any order)."""
    ordered = sorted(events, key=TaskRouterEvent.sort_key)
    result = TaskRows(task_sid)
    attributes: dict[str, Any] = {}
    channel = workflow = priority = None
    for event in ordered:
        attributes.update(event.task_attributes)
        channel = event.task_channel_unique_name or channel
        workflow = event.workflow_name or workflow
        priority = event.task_priority if event.task_priority is not None else priority
        if event.worker_sid:
            result.agents[event.worker_sid] = event.worker_name or result.agents.get(
                event.worker_sid
            )

    queues: list[_Queue] = []
    open_queue: _Queue | None = None
    reservations: dict[str, _Reservation] = {}
    abandoned: list[Row] = []
    outcome: str | None = None
    canceled_at: int | None = None

    def close_queue(at: int, attribute: str | None = None) -> None:
        nonlocal open_queue
        if open_queue is not None:
            open_queue.row["queue_time"] = at - open_queue.entered
            if attribute:
                open_queue.row["conversation_attribute_1"] = attribute
        open_queue = None

    def enter(queue: str | None, at: int) -> None:
        nonlocal open_queue
        if open_queue is not None and open_queue.row["queue"] == queue:
            return
        close_queue(at)
        row = SEGMENT_DEFAULTS | {
            "segment_id": f"{task_sid}-Q{len(queues) + 1}",
            "kind": "QUEUE",
            "queue": queue,
            "started_at": at,
        }
        open_queue = _Queue(row, at)
        queues.append(open_queue)

    for event in ordered:
        at = event.timestamp
        kind = event.event_type
        if kind == "task-queue.entered":
            enter(event.task_queue_name, at)
        elif kind == "task-queue.moved":
            previous = open_queue.row["queue"] if open_queue else None
            close_queue(at, "Moved")
            if event.task_queue_name and event.task_queue_name != previous:
                enter(event.task_queue_name, at)
        elif kind == "task-queue.timeout":
            close_queue(at, "Timeout")
        elif kind == "reservation.created" and event.reservation_sid and event.worker_sid:
            reservations.setdefault(
                event.reservation_sid,
                _Reservation(
                    event.reservation_sid,
                    event.worker_sid,
                    at,
                    event.task_queue_name or (open_queue.row["queue"] if open_queue else None),
                    open_queue.entered if open_queue else None,
                ),
            )
        elif kind.startswith("reservation.") and event.reservation_sid in reservations:
            reservation = reservations[event.reservation_sid]
            if kind == "reservation.accepted":
                reservation.accepted = at
                reservation.queue_entered = open_queue.entered if open_queue else None
                close_queue(at)
            elif kind in RESERVATION_ENDS and reservation.accepted is None:
                reservation.ended, reservation.end_kind = at, RESERVATION_ENDS[kind]
                reservation.reason = event.reason
            elif kind == "reservation.wrapup":
                reservation.wrapup = at
            elif kind == "reservation.completed":
                reservation.completed = at
        elif kind == "task.wrapup":
            for reservation in reservations.values():
                if reservation.accepted is not None and reservation.wrapup is None:
                    reservation.wrapup = at
        elif kind == "task.completed":
            outcome = event.reason or event.task_completed_reason or outcome
            for reservation in reservations.values():
                if reservation.accepted is not None and reservation.completed is None:
                    reservation.completed = at
        elif kind == "task.canceled":
            outcome = event.reason or event.task_canceled_reason or outcome
            canceled_at = at
            if open_queue is not None:
                queue_row = open_queue.row
                close_queue(at)
                waited = queue_row["queue_time"]
                abandon = {
                    "abandoned": "YES",
                    "abandoned_phase": "Queue",
                    "abandon_time": waited,
                    "outcome": outcome,
                }
                queue_row.update(abandon)
                conversation = (
                    SEGMENT_DEFAULTS
                    | abandon
                    | {
                        "segment_id": f"{task_sid}-A",
                        "kind": "CONVERSATION",
                        "queue": queue_row["queue"],
                        "queue_time": waited,
                        "talk_time": 0,
                        "wrap_up_time": 0,
                        "started_at": at,
                    }
                )
                abandoned += [queue_row, conversation]

    segments: list[Row] = [q.row for q in queues]
    handled: list[Row] = [r for r in abandoned if r["kind"] == "CONVERSATION"]
    for reservation in reservations.values():
        queue_time = None
        if reservation.queue_entered is not None:
            queue_time = (reservation.accepted or reservation.created) - reservation.queue_entered
        base = SEGMENT_DEFAULTS | {
            "segment_id": reservation.sid,
            "agent_id": reservation.worker,
            "queue": reservation.queue,
            "queue_time": queue_time if queue_time is not None else 0,
        }
        if reservation.accepted is not None:
            accepted = reservation.accepted
            talk_end = reservation.wrapup or reservation.completed
            done = reservation.completed is not None
            row = base | {
                "kind": "CONVERSATION" if done else "CONVERSATION_IN_PROGRESS",
                "started_at": accepted,
                "ring_time": accepted - reservation.created,
                "talk_time": talk_end - accepted if talk_end is not None else None,
                "wrap_up_time": _wrap_up(reservation),
                "outcome": outcome,
            }
            handled.append(row)
        else:
            ended = reservation.ended if reservation.ended is not None else canceled_at
            if ended is None:
                continue  # still ringing: nothing to report yet
            row = base | {
                "kind": reservation.end_kind or "MISSED_CONVERSATION",
                "started_at": reservation.created,
                "ring_time": ended - reservation.created,
                "outcome": reservation.reason,
            }
        segments.append(row)
    segments += [r for r in abandoned if r["kind"] == "CONVERSATION"]

    conversation_attrs = nested(attributes, "conversations")
    customer_attrs = nested(attributes, "customers")
    conversation_id = str(
        conversation_attrs.get("conversation_id") or attributes.get("call_sid") or task_sid
    )
    direction = _coerce(SEGMENT_COLUMNS["direction"], attributes.get("direction"))
    task_wide: Row = {
        "external_id": task_sid,
        "conversation_id": conversation_id,
        "communication_channel": CHANNELS.get(channel or "", (channel or "").title() or None),
        "direction": direction,
        "workflow": workflow,
        "priority": priority,
    }
    handling: Row = {}
    abandon_overrides: Row = {}
    for key, value in conversation_attrs.items():
        column = SEGMENT_COLUMNS.get(key)
        if column is None or key in NOT_SEGMENT_KEYS:
            continue
        coerced = _coerce(column, value)
        if key in ABANDON_KEYS:
            if coerced is not None:
                abandon_overrides[key] = coerced
        elif key in TASK_WIDE:
            task_wide[key] = coerced
        else:
            handling[key] = coerced
    customer = _customer(customer_attrs, attributes, task_wide["direction"], conversation_id)
    task_wide["customer_id"] = customer["customer_id"]
    for row in segments:
        moved = row["conversation_attribute_1"]
        row.update(task_wide)
        if moved is not None:
            row["conversation_attribute_1"] = moved
        row["time_in_seconds"] = seconds_of_day(row["started_at"], tz)
        row["virtual"] = row["kind"] not in ("CONVERSATION", "CONVERSATION_IN_PROGRESS")
        if row["abandoned"] != "NO":
            row.update(abandon_overrides)
    for row in handled:
        row.update(handling)
    segments.sort(key=lambda r: (r["started_at"], r["segment_id"]))
    for previous, row in pairwise(segments):
        row["preceded_by_id"] = previous["segment_id"]
    result.segments = segments
    result.customer = customer
    _hierarchy(result, conversation_attrs)
    result.conversation = {
        "conversation_id": conversation_id,
        "direction": task_wide["direction"],
        "customer_id": customer["customer_id"],
        "case_id": result.case["case_id"] if result.case else None,
        "campaign_id": result.campaign["campaign_id"] if result.campaign else None,
    }
    return result


def _wrap_up(reservation: _Reservation) -> int | None:
    """Wrap-up to completed; 0 without a wrap-up; unknown until the reservation completes."""
    if reservation.completed is None:
        return None
    if reservation.wrapup is None:
        return 0
    return reservation.completed - reservation.wrapup


def _customer(
    attrs: Mapping[str, Any], task: Mapping[str, Any], direction: str | None, conversation: str
) -> Row:
    """The customer row, keyed by the first identifier the spec lists that the task has."""
    party = task.get("to") if direction == "OUTBOUND" else task.get("from")
    key = next(
        (
            str(v)
            for v in (attrs.get("external_id"), attrs.get("phone"), attrs.get("email"), party)
            if v not in (None, "")
        ),
        f"conversation:{conversation}",
    )
    row: Row = {name: None for name in CUSTOMER_COLUMNS}
    for name, value in attrs.items():
        if name in CUSTOMER_COLUMNS and name != "customer_id":
            row[name] = _coerce(CUSTOMER_COLUMNS[name], value)
    if row["phone"] is None and party and "@" not in str(party):
        row["phone"] = str(party)
    row["customer_id"] = key
    return row


def _hierarchy(result: TaskRows, attrs: Mapping[str, Any]) -> None:
    """Case, campaign, project and initiative rows named by the task; the name is the key."""

    def name(key: str) -> str | None:
        value = attrs.get(key)
        return None if value in (None, "") else str(value)

    case, campaign, initiative = name("case"), name("campaign"), name("initiative")
    project = name("project") or initiative
    if initiative:
        result.initiative = {"initiative_id": initiative, "name": initiative}
    if project:
        result.project = {"project_id": project, "name": project, "initiative_id": initiative}
    if campaign:
        result.campaign = {"campaign_id": campaign, "name": campaign, "project_id": project}
    if case:
        result.case = {"case_id": case, "name": case, "campaign_id": campaign}


# --- workers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamStep:
    """From `since` (epoch seconds) on, the worker belongs to this team and department."""

    since: int
    team_id: str | None
    department_id: str | None


def team_step(event: TaskRouterEvent) -> TeamStep | None:
    attrs = event.worker_attributes
    if attrs is None:
        return None
    team = attrs.get("team_id")
    department = attrs.get("department_id")
    return TeamStep(
        event.timestamp,
        None if team in (None, "") else str(team),
        None if department in (None, "") else str(department),
    )


def agent_rows(event: TaskRouterEvent, deleted: bool) -> tuple[Row, Row | None, Row | None]:
    """(agent, team, department) rows from a worker event's attributes."""
    attrs = event.worker_attributes or {}

    def text(key: str) -> str | None:
        value = attrs.get(key)
        return None if value in (None, "") else str(value)

    agent: Row = {
        "agent_id": event.worker_sid,
        "external_agent_id": text("agent_id"),
        "full_name": text("full_name") or event.worker_name,
        **{key: text(key) for key in AGENT_STRINGS},
        "date_joined": to_date(attrs.get("date_joined")),
        "date_left": to_date(attrs.get("date_left")),
        "team_id": text("team_id"),
        "department_id": text("department_id"),
    }
    if deleted:
        agent["state"] = "Deleted"
    department = (
        {
            "department_id": agent["department_id"],
            "name": text("department_name") or agent["department_id"],
            "name_in_hierarchy": text("department_name_in_hierarchy"),
        }
        if agent["department_id"]
        else None
    )
    team = (
        {
            "team_id": agent["team_id"],
            "name": text("team_name") or agent["team_id"],
            "name_in_hierarchy": text("team_name_in_hierarchy"),
            "department_id": agent["department_id"],
        }
        if agent["team_id"]
        else None
    )
    return agent, team, department


STATUS_EVENTS = ("worker.activity.update", "worker.created")


def status_segment_id(worker: str, start_ms: int, activity: str | None, spent: int | None) -> str:
    """`<worker>-<start epoch ms>-<8 hex digits of activity and duration>`.

    The start alone does not tell two changes in one second apart, nor a closed interval from the
    one opened at the same instant; with the activity and the duration (none while in progress),
    the same change delivered twice gets one id and different changes never share one.
    """
    shown = "" if spent is None else str(spent)
    digest = hashlib.sha256(f"{activity}\0{shown}".encode()).hexdigest()[:8]
    return f"{worker}-{start_ms}-{digest}"


def current_status(events: Iterable[TaskRouterEvent]) -> TaskRouterEvent | None:
    """The change that opened the worker's current activity: the latest by event time.

    Changes in the same millisecond follow their chain: one that leaves the activity another
    entered, after zero seconds in it, came after that one.
    """
    candidates = [e for e in events if e.event_type in STATUS_EVENTS and e.worker_activity_name]
    if not candidates:
        return None
    last = max(e.timestamp_ms for e in candidates)
    tied = sorted((e for e in candidates if e.timestamp_ms == last), key=TaskRouterEvent.sort_key)
    left = {
        e.worker_previous_activity_name
        for e in tied
        if e.event_type == "worker.activity.update" and e.worker_time_in_previous_activity == 0
    }
    return ([e for e in tied if e.worker_activity_name not in left] or tied)[-1]


def status_segments(
    worker_sid: str, events: Iterable[TaskRouterEvent], tz: ZoneInfo
) -> tuple[list[Row], Row | None]:
    """(closed AGENT_STATUS rows, the AGENT_STATUS_IN_PROGRESS row of the current status or None).

    Each `worker.activity.update` closes its previous activity on its own, so these rows never
    depend on other events; `worker.created` only opens the first activity.
    """
    events = list(events)
    closed: dict[str, Row] = {}
    for event in events:
        previous = event.worker_previous_activity_name
        spent = event.worker_time_in_previous_activity
        if event.event_type == "worker.activity.update" and previous and spent is not None:
            start_ms = event.timestamp_ms - spent * 1000
            row = _status(
                status_segment_id(worker_sid, start_ms, previous, spent),
                worker_sid, "AGENT_STATUS", previous, event.timestamp - spent, spent, tz,
            )  # fmt: skip
            closed[row["segment_id"]] = row
    latest = current_status(events)
    open_row = None
    if latest is not None:
        name = latest.worker_activity_name
        segment_id = status_segment_id(worker_sid, latest.timestamp_ms, name, None)
        open_row = _status(
            segment_id, worker_sid, "AGENT_STATUS_IN_PROGRESS", name, latest.timestamp, None, tz
        )
    return list(closed.values()), open_row


def _status(
    segment_id: str,
    worker: str,
    kind: str,
    activity: str | None,
    start: int,
    spent: int | None,
    tz: ZoneInfo,
) -> Row:
    return SEGMENT_DEFAULTS | {
        "segment_id": segment_id,
        "kind": kind,
        "activity": activity,
        "activity_time": spent,
        "started_at": start,
        "time_in_seconds": seconds_of_day(start, tz),
        "agent_id": worker,
    }


# --- checks ------------------------------------------------------------------------------------


def check_task(rows: TaskRows) -> None:
    """Raise `Misfit` when a row of the task does not fit its table (before anything is written)."""
    for segment in rows.segments:
        check_row(t.segments, segment, f"segment {segment['segment_id']}")
    for table, row in (
        (t.customers, rows.customer),
        (t.conversations, rows.conversation),
        (t.cases, rows.case),
        (t.campaigns, rows.campaign),
        (t.projects, rows.project),
        (t.initiatives, rows.initiative),
    ):
        if row is not None:
            check_row(table, row, table.name.removesuffix("s"))


def check_worker_event(event: TaskRouterEvent, tz: ZoneInfo) -> None:
    """Raise when the rows a worker event (or a reservation's worker attributes) gives misfit."""
    worker = str(event.worker_sid)
    if event.event_type in STATUS_EVENTS:
        closed, open_row = status_segments(worker, [event], tz)
        for row in [*closed, *([open_row] if open_row else [])]:
            check_row(t.segments, row, "status segment")
    if event.worker_attributes is not None:
        agent, team, department = agent_rows(event, deleted=False)
        check_row(t.agents, agent, "agent")
        if team:
            check_row(t.teams, team, "team")
        if department:
            check_row(t.departments, department, "department")


Keyed = tuple[str, TaskRouterEvent]  # an event with its dedup key


@dataclass
class CheckedTask:
    """A task derived from the events that can be applied together, and those that cannot."""

    rows: TaskRows | None  # None when no event of the task can be applied
    rejected: dict[str, str] = field(default_factory=dict)  # new event key -> reason
    evicted: dict[str, str] = field(default_factory=dict)  # stored event key -> reason


def why(error: Exception) -> str:
    """A dead-letter reason for whatever went wrong while deriving or storing an event."""
    if isinstance(error, ValueError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def derive_task_checked(
    task_sid: str, stored: list[Keyed], new: list[Keyed], tz: ZoneInfo
) -> CheckedTask:
    """The task's rows from its stored and new events, leaving out the events that break them.

    Almost always every event fits and this is one derivation. Otherwise the stored events are
    kept as they are (they were applied together before), each new event is added in lifecycle
    order and left out when the rows stop fitting, so a bad event costs only itself, and an event
    stored earlier never stops later ones. Stored events that no longer derive (stored by a
    version that checked less) are evicted the same way.
    """

    def attempt(keyed: list[Keyed]) -> TaskRows:
        rows = derive_task(task_sid, [e for _, e in keyed], tz)
        check_task(rows)
        return rows

    try:
        return CheckedTask(attempt(stored + new) if stored or new else None)
    except Exception:  # anything a bad event provokes becomes its reason
        pass
    result = CheckedTask(None)
    kept = _fitting(attempt, [], stored, result.evicted)
    kept = _fitting(attempt, kept, new, result.rejected)
    result.rows = attempt(kept) if kept else None
    return result


def _fitting(
    attempt: Any, kept: list[Keyed], candidates: list[Keyed], refused: dict[str, str]
) -> list[Keyed]:
    """`kept` plus each candidate (lifecycle order) with which the rows still derive and fit."""
    if not kept:
        try:
            attempt(candidates)
            return list(candidates)
        except Exception:
            pass
    kept = list(kept)
    for key, event in sorted(candidates, key=lambda k: k[1].sort_key()):
        try:
            attempt([*kept, (key, event)])
        except Exception as error:
            refused[key] = why(error)
            continue
        kept.append((key, event))
    return kept
