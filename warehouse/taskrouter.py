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
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from warehouse.event_models import CallbackPayload, CloudEvent, EventError

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
        try:
            cloud = CloudEvent.model_validate(obj)
        except ValidationError as error:
            raise EventError("cloud event: " + _reason(error)) from None
        result = {_pascal(k): v for k, v in cloud.payload.items()}
        if "EventType" not in result:
            if not cloud.type.startswith(CLOUD_EVENT_PREFIX):
                raise EventError(f"cloud event: type {cloud.type[:60]!r} is not a TaskRouter event")
            result["EventType"] = cloud.type[len(CLOUD_EVENT_PREFIX) :]
        if "Sid" not in result and cloud.id is not None:
            result["Sid"] = cloud.id
        if "Timestamp" not in result and "TimestampMs" not in result and cloud.time is not None:
            result["TimestampMs"] = cloud.time
        return result
    if "event_type" in obj or "eventtype" in obj:
        return {_pascal(k): v for k, v in obj.items()}
    raise EventError("unknown shape: neither an EventType callback nor a TaskRouter cloud event")


def event_from_payload(payload: Mapping[str, Any]) -> TaskRouterEvent:
    """Validate a PascalCase payload; unknown event types parse but are not `known`."""
    try:
        model = CallbackPayload.model_validate(payload)
    except ValidationError as error:
        raise EventError(_reason(error)) from None
    event = TaskRouterEvent(
        event_type=model.event_type,
        timestamp_ms=model.timestamp_ms(),
        sid=model.sid,
        task_sid=model.task_sid,
        task_attributes=model.task_attributes or {},
        task_queue_sid=model.task_queue_sid,
        task_queue_name=model.task_queue_name,
        task_channel_unique_name=model.task_channel_unique_name,
        workflow_name=model.workflow_name,
        task_age=model.task_age,
        task_priority=model.task_priority,
        task_canceled_reason=model.task_canceled_reason,
        task_completed_reason=model.task_completed_reason,
        reason=model.reason,
        reservation_sid=model.reservation_sid,
        worker_sid=model.worker_sid,
        worker_name=model.worker_name,
        worker_attributes=model.worker_attributes,
        worker_activity_name=model.worker_activity_name,
        worker_previous_activity_name=model.worker_previous_activity_name,
        worker_time_in_previous_activity=model.worker_time_in_previous_activity,
        payload=dict(payload),
    )
    _require(event)
    return event


def _reason(error: ValidationError) -> str:
    """The first problem pydantic found, as `Field what is wrong` (the dead-letter reason)."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where} {message}" if where else message


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
    except (RecursionError, ValueError):
        raise EventError("bad JSON: nested too deeply or a number too long") from None
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
        if isinstance(value, list):
            return [json.dumps(item) for item in value]
    except json.JSONDecodeError as error:
        raise BodyError(f"body is not valid JSON: {error.msg} at line {error.lineno}") from None
    except (RecursionError, ValueError):
        raise BodyError("body is not usable JSON: nested too deeply or a number too long") from None
    if isinstance(value, dict):
        return [text]
    raise BodyError(f"body must be a JSON object or array, got {type(value).__name__}")
