"""TaskRouter events: both delivery shapes parsed into one typed, validated event.

TaskRouter posts event callbacks with PascalCase keys (often form-encoded, so every value is a
string); Event Streams wraps the same fields, in snake_case, in a cloud event. Everything downstream
works on `TaskRouterEvent`, so the derivation never cares how an event arrived. Validation errors
carry a reason a person can act on, because they end up in the dead-letter table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

TASK_EVENTS = frozenset(
    {
        "task.created",
        "task-queue.entered",
        "task-queue.moved",
        "task-queue.timeout",
        "task.canceled",
        "task.completed",
        "task.wrapup",
        "task.transfer-initiated",
    }
)
RESERVATION_EVENTS = frozenset(
    {
        "reservation.created",
        "reservation.accepted",
        "reservation.rejected",
        "reservation.timeout",
        "reservation.canceled",
        "reservation.rescinded",
        "reservation.wrapup",
        "reservation.completed",
    }
)
WORKER_EVENTS = frozenset(
    {"worker.created", "worker.attributes.update", "worker.activity.update", "worker.deleted"}
)
KNOWN_EVENTS = TASK_EVENTS | RESERVATION_EVENTS | WORKER_EVENTS

EVENT_RANK: dict[str, int] = {
    "worker.created": 0,
    "task.created": 0,
    "task-queue.moved": 1,
    "task-queue.timeout": 1,
    "task-queue.entered": 2,
    "reservation.created": 3,
    "reservation.accepted": 4,
    "reservation.rejected": 4,
    "reservation.timeout": 4,
    "reservation.canceled": 4,
    "reservation.rescinded": 4,
    "worker.attributes.update": 4,
    "worker.activity.update": 4,
    "task.transfer-initiated": 5,
    "task.wrapup": 6,
    "reservation.wrapup": 6,
    "task.canceled": 7,
    "reservation.completed": 8,
    "task.completed": 9,
    "worker.deleted": 10,
}
"""Tie-break for events in the same second, in lifecycle order, so sorting is deterministic."""

CLOUD_EVENT_PREFIX = "com.twilio.taskrouter."

_STRING_FIELDS = (
    "Sid",
    "TaskSid",
    "TaskQueueSid",
    "TaskQueueName",
    "TaskChannelUniqueName",
    "WorkflowName",
    "TaskCanceledReason",
    "TaskCompletedReason",
    "Reason",
    "ReservationSid",
    "WorkerSid",
    "WorkerName",
    "WorkerActivityName",
    "WorkerPreviousActivityName",
)
_INT_FIELDS = ("TaskAge", "WorkerTimeInPreviousActivity", "TaskPriority")


class EventError(ValueError):
    """An event that cannot be understood; the message is the dead-letter reason."""


@dataclass(frozen=True)
class TaskRouterEvent:
    """One accepted TaskRouter event, whatever shape it was delivered in."""

    event_type: str
    timestamp_ms: int
    sid: str | None = None
    task_sid: str | None = None
    task_attributes: dict[str, Any] = field(default_factory=dict)
    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    task_channel_unique_name: str | None = None
    workflow_name: str | None = None
    task_age: int | None = None
    task_priority: int | None = None
    task_canceled_reason: str | None = None
    task_completed_reason: str | None = None
    reason: str | None = None
    reservation_sid: str | None = None
    worker_sid: str | None = None
    worker_name: str | None = None
    worker_attributes: dict[str, Any] | None = None
    worker_activity_name: str | None = None
    worker_previous_activity_name: str | None = None
    worker_time_in_previous_activity: int | None = None
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def timestamp(self) -> int:
        """Whole epoch seconds: the spec cuts timestamps before taking durations."""
        return self.timestamp_ms // 1000

    @property
    def known(self) -> bool:
        return self.event_type in KNOWN_EVENTS

    @property
    def resource_sid(self) -> str | None:
        """The SID of what the event is about: reservation, task or worker."""
        if self.event_type.startswith("reservation."):
            return self.reservation_sid
        if self.event_type.startswith("worker."):
            return self.worker_sid
        return self.task_sid

    @property
    def dedup_key(self) -> str:
        """The event SID, else type + resource + timestamp: a re-delivery gets the same key."""
        if self.sid:
            return f"sid:{self.sid}"
        return f"{self.event_type}|{self.resource_sid}|{self.timestamp_ms}"

    def sort_key(self) -> tuple[int, int, str, str]:
        """Timestamp, then lifecycle rank, then type and key: one order whatever the arrival."""
        return (self.timestamp, EVENT_RANK.get(self.event_type, 5), self.event_type, self.dedup_key)


def _pascal(key: str) -> str:
    if key.lower() in ("eventtype", "event_type"):
        return "EventType"
    if "_" not in key and key[:1].isupper():
        return key
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def normalise(obj: Any) -> dict[str, Any]:
    """The PascalCase callback payload of either shape; `EventError` for an unknown shape."""
    if not isinstance(obj, dict):
        raise EventError(f"unknown shape: expected a JSON object, got {type(obj).__name__}")
    if "EventType" in obj:
        return dict(obj)
    if isinstance(obj.get("type"), str) and isinstance(obj.get("data"), dict):
        data = obj["data"]
        payload = data.get("payload", data)
        if not isinstance(payload, dict):
            raise EventError("cloud event: data.payload must be an object")
        result = {_pascal(k): v for k, v in payload.items()}
        cloud_type = obj["type"]
        if "EventType" not in result:
            if not cloud_type.startswith(CLOUD_EVENT_PREFIX):
                raise EventError(f"cloud event: type {cloud_type!r} is not a TaskRouter event")
            result["EventType"] = cloud_type[len(CLOUD_EVENT_PREFIX) :]
        if "Sid" not in result and isinstance(obj.get("id"), str):
            result["Sid"] = obj["id"]
        if "Timestamp" not in result and "TimestampMs" not in result and "time" in obj:
            result["TimestampMs"] = _iso_ms(obj["time"])
        return result
    if "event_type" in obj or "eventtype" in obj:
        return {_pascal(k): v for k, v in obj.items()}
    raise EventError("unknown shape: neither an EventType callback nor a TaskRouter cloud event")


def _iso_ms(value: Any) -> int:
    if not isinstance(value, str):
        raise EventError("cloud event: time must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EventError(f"cloud event: time {value!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise EventError(f"cloud event: time {value!r} has no UTC offset")
    return int(parsed.timestamp() * 1000)


def _string(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventError(f"{key} must be a string, got {type(value).__name__}")
    return str(value)


def _int(payload: Mapping[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EventError(f"{key} must be a number, got a boolean")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            pass
    raise EventError(f"{key} must be a number, got {value!r}")


def _attributes(payload: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise EventError(f"{key} is not valid JSON: {error.msg}") from None
    if not isinstance(value, dict):
        raise EventError(f"{key} must be a JSON object, got {type(value).__name__}")
    return value


def _timestamp_ms(payload: Mapping[str, Any]) -> int:
    ms = _int(payload, "TimestampMs")
    if ms is not None:
        return ms
    seconds = payload.get("Timestamp")
    if isinstance(seconds, str) and seconds and not seconds.lstrip("-").isdigit():
        try:
            return _iso_ms(seconds)
        except EventError:
            raise EventError(f"Timestamp must be epoch seconds, got {seconds!r}") from None
    value = _int(payload, "Timestamp")
    if value is None:
        raise EventError("missing Timestamp (or TimestampMs)")
    return value * 1000


def event_from_payload(payload: Mapping[str, Any]) -> TaskRouterEvent:
    """Validate a PascalCase payload; unknown event types parse but are not `known`."""
    event_type = payload.get("EventType")
    if not isinstance(event_type, str) or not event_type:
        raise EventError("missing EventType")
    timestamp_ms = _timestamp_ms(payload)
    strings = {key: _string(payload, key) for key in _STRING_FIELDS}
    ints = {key: _int(payload, key) for key in _INT_FIELDS}
    task_attributes = _attributes(payload, "TaskAttributes") or {}
    worker_attributes = _attributes(payload, "WorkerAttributes")
    event = TaskRouterEvent(
        event_type=event_type,
        timestamp_ms=timestamp_ms,
        sid=strings["Sid"],
        task_sid=strings["TaskSid"],
        task_attributes=task_attributes,
        task_queue_sid=strings["TaskQueueSid"],
        task_queue_name=strings["TaskQueueName"],
        task_channel_unique_name=strings["TaskChannelUniqueName"],
        workflow_name=strings["WorkflowName"],
        task_age=ints["TaskAge"],
        task_priority=ints["TaskPriority"],
        task_canceled_reason=strings["TaskCanceledReason"],
        task_completed_reason=strings["TaskCompletedReason"],
        reason=strings["Reason"],
        reservation_sid=strings["ReservationSid"],
        worker_sid=strings["WorkerSid"],
        worker_name=strings["WorkerName"],
        worker_attributes=worker_attributes,
        worker_activity_name=strings["WorkerActivityName"],
        worker_previous_activity_name=strings["WorkerPreviousActivityName"],
        worker_time_in_previous_activity=ints["WorkerTimeInPreviousActivity"],
        payload=dict(payload),
    )
    _require(event)
    return event


def _require(event: TaskRouterEvent) -> None:
    kind = event.event_type
    if kind in TASK_EVENTS | RESERVATION_EVENTS and not event.task_sid:
        raise EventError(f"{kind}: missing TaskSid")
    if kind in RESERVATION_EVENTS:
        if not event.reservation_sid:
            raise EventError(f"{kind}: missing ReservationSid")
        if not event.worker_sid:
            raise EventError(f"{kind}: missing WorkerSid")
    if kind in WORKER_EVENTS and not event.worker_sid:
        raise EventError(f"{kind}: missing WorkerSid")


def parse_event(obj: Any) -> TaskRouterEvent:
    """An event from a decoded JSON value of either shape."""
    return event_from_payload(normalise(obj))


def parse_text(text: str) -> tuple[TaskRouterEvent, str]:
    """The event in a JSON text, and its callback payload as JSON text for storage.

    A callback-shaped text already is that payload, so it is kept as received instead of being
    serialised again; a cloud event is stored in its normalised callback form.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        raise EventError(f"bad JSON: {error.msg} at column {error.colno}") from None
    event = parse_event(obj)
    if isinstance(obj, dict) and "EventType" in obj:
        return event, text
    return event, json.dumps(event.payload, separators=(",", ":"))


class BodyError(ValueError):
    """An HTTP body that is neither JSON nor a form-encoded callback."""


def split_body(body: bytes, content_type: str | None) -> list[str]:
    """The JSON text of each event in an HTTP body: a JSON object, a JSON array or a form.

    A form-encoded body (how TaskRouter posts callbacks) is one event; its fields become a JSON
    object so the dead-letter table always keeps JSON. Per-event problems are left to `parse_text`
    so one bad event in an array does not lose the others.
    """
    media = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("body is not UTF-8") from None
    if media == "application/x-www-form-urlencoded":
        try:
            fields = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise BodyError("body is not a valid form-encoded callback") from None
        return [json.dumps(dict(fields))]
    if not text.strip():
        raise BodyError("empty body: expected a JSON object, a JSON array or a form")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise BodyError(f"body is not valid JSON: {error.msg} at line {error.lineno}") from None
    if isinstance(value, list):
        return [json.dumps(item) for item in value]
    if isinstance(value, dict):
        return [text]
    raise BodyError(f"body must be a JSON object or array, got {type(value).__name__}")
