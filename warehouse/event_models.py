"""The typed boundary of the ingest: what a TaskRouter callback payload may hold.

Every field an event callback (or a normalised cloud event) carries is declared here with the
range its column allows: times inside a sane window, counts that fit 32 bits, finite numbers,
strings where strings belong, attributes whose keys the warehouse reads fit their columns. An
event that passes cannot fail a write later; one that does not gets a reason naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from cachetools import FIFOCache
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from warehouse.attributes import check_task_attributes, check_worker_attributes
from warehouse.fits import (
    EARLIEST,
    EARLIEST_SECOND,
    INT32,
    LATEST,
    LATEST_SECOND,
    Misfit,
    check_int,
    check_text,
    whole_number,
)

WINDOW = f"{EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}"
MAX_SID = 1000  # characters of a SID or a name


class EventError(ValueError):
    """An event that cannot be understood; the message is the dead-letter reason."""


def _kind(value: Any) -> str:
    return {bool: "a boolean", list: "an array", dict: "an object", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _text(value: Any) -> str | None:
    """A SID or name: a string (or an integer, as some senders write ids); "" is absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be a string, got {_kind(value)}")
    if isinstance(value, int):
        value = str(check_int("value", value))
    if len(value) > MAX_SID:
        raise ValueError(f"is longer than {MAX_SID} characters")
    try:
        return check_text("value", value)
    except Misfit as error:
        raise ValueError(str(error).removeprefix("value ")) from None


def _seconds(value: Any) -> int | None:
    """A duration in whole seconds that fits a 32-bit column."""
    if value is None or value == "":
        return None
    try:
        return whole_number("value", value, (0, INT32[1]))
    except Misfit as error:
        raise ValueError(str(error).removeprefix("value ")) from None


def _priority(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return whole_number("value", value, INT32)
    except Misfit as error:
        raise ValueError(str(error).removeprefix("value ")) from None


def _instant(value: Any, scale: int) -> int | None:
    """Epoch seconds (`scale` 1) or milliseconds (1000) inside the sane window, as milliseconds.

    `Timestamp` may also be an ISO 8601 string with an offset, as some relays rewrite it.
    """
    if value is None or value == "":
        return None
    if scale == 1 and isinstance(value, str) and value.strip() and not _numeric(value):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"must be epoch seconds, got {value[:40]!r}") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{value[:40]!r} has no UTC offset")
        value = parsed.timestamp()
    unit = "epoch seconds" if scale == 1 else "epoch milliseconds"
    try:
        number = whole_number("value", value)
    except Misfit:
        raise ValueError(f"must be {unit}, got {_shown(value)}") from None
    if not EARLIEST_SECOND * scale <= number < LATEST_SECOND * scale:
        raise ValueError(f"{number} ({unit}) is outside {WINDOW}")
    return number * (1000 // scale)


def _numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else _kind(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _object(value: Any) -> dict[str, Any] | None:
    """Attributes: a JSON object, or a string holding one (as TaskRouter posts them)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not valid JSON: {error.msg}") from None
        except (RecursionError, ValueError):
            raise ValueError("is not valid JSON: nested too deeply or a number too long") from None
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object, got {_kind(value)}")
    return value


def _checked(check: Callable[[dict[str, Any]], None]) -> Callable[[Any], dict[str, Any] | None]:
    """Attributes parsed and checked, the check skipped for a text that passed it lately.

    TaskRouter repeats a task's attributes, as the same text, on every event of the task, and
    the check walks every key the warehouse reads: remembering the texts that passed (bounded,
    first in first out) spares most of that work; a text that failed is checked every time.
    """
    # events are parsed on the event loop's thread (cachetools' caches take no lock)
    passed: FIFOCache[str, bool] = FIFOCache(REMEMBERED_TEXTS)

    def validate(value: Any) -> dict[str, Any] | None:
        parsed = _object(value)
        if parsed is None:
            return None
        remembered = isinstance(value, str) and len(value) <= REMEMBERED_TEXT_LENGTH
        if remembered and value in passed:
            return parsed
        try:
            check(parsed)
        except Misfit as error:
            raise ValueError(str(error).split(" ", 1)[1]) from None
        if remembered:
            passed[value] = True
        return parsed

    return validate


REMEMBERED_TEXTS = 4096  # attribute texts that passed, per kind (tasks in flight)
REMEMBERED_TEXT_LENGTH = 16_384  # characters: longer texts are checked every time


Text = Annotated[str | None, BeforeValidator(_text)]
Seconds = Annotated[int | None, BeforeValidator(_seconds)]
TaskAttributes = Annotated[dict[str, Any] | None, BeforeValidator(_checked(check_task_attributes))]
WorkerAttributes = Annotated[
    dict[str, Any] | None, BeforeValidator(_checked(check_worker_attributes))
]


class CallbackPayload(BaseModel):
    """An event callback payload (PascalCase keys); unknown keys are kept but not read."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type_: Text = Field(None, alias="EventType")
    timestamp: Annotated[int | None, BeforeValidator(lambda v: _instant(v, 1))] = Field(
        None, alias="Timestamp"
    )
    timestamp_ms_: Annotated[int | None, BeforeValidator(lambda v: _instant(v, 1000))] = Field(
        None, alias="TimestampMs"
    )
    sid: Text = Field(None, alias="Sid")
    task_sid: Text = Field(None, alias="TaskSid")
    task_attributes: TaskAttributes = Field(None, alias="TaskAttributes")
    task_queue_sid: Text = Field(None, alias="TaskQueueSid")
    task_queue_name: Text = Field(None, alias="TaskQueueName")
    task_channel_unique_name: Text = Field(None, alias="TaskChannelUniqueName")
    workflow_name: Text = Field(None, alias="WorkflowName")
    task_age: Seconds = Field(None, alias="TaskAge")
    task_priority: Annotated[int | None, BeforeValidator(_priority)] = Field(
        None, alias="TaskPriority"
    )
    task_canceled_reason: Text = Field(None, alias="TaskCanceledReason")
    task_completed_reason: Text = Field(None, alias="TaskCompletedReason")
    reason: Text = Field(None, alias="Reason")
    reservation_sid: Text = Field(None, alias="ReservationSid")
    worker_sid: Text = Field(None, alias="WorkerSid")
    worker_name: Text = Field(None, alias="WorkerName")
    worker_attributes: WorkerAttributes = Field(None, alias="WorkerAttributes")
    worker_activity_name: Text = Field(None, alias="WorkerActivityName")
    worker_previous_activity_name: Text = Field(None, alias="WorkerPreviousActivityName")
    worker_time_in_previous_activity: Seconds = Field(None, alias="WorkerTimeInPreviousActivity")

    @model_validator(mode="after")
    def _times(self) -> CallbackPayload:
        if self.event_type_ is None:
            raise ValueError("missing EventType")
        if self.timestamp is None and self.timestamp_ms_ is None:
            raise ValueError("missing Timestamp (or TimestampMs)")
        spent = self.worker_time_in_previous_activity
        if spent is not None and self.timestamp_ms() // 1000 - spent < EARLIEST_SECOND:
            raise ValueError(
                f"WorkerTimeInPreviousActivity {spent} reaches back before {EARLIEST:%Y-%m-%d}"
            )
        return self

    @property
    def event_type(self) -> str:
        assert self.event_type_ is not None
        return self.event_type_

    def timestamp_ms(self) -> int:
        """The event time in epoch milliseconds (`TimestampMs` first, as it is the finer one)."""
        found = self.timestamp_ms_ if self.timestamp_ms_ is not None else self.timestamp
        assert found is not None
        return found


def _cloud_time(value: Any) -> int | None:
    """The cloud event's `time`: ISO 8601 with an offset, inside the window, as milliseconds."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO 8601 string, got {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value[:40]!r} has no UTC offset")
    if not EARLIEST <= parsed < LATEST:
        raise ValueError(f"{value[:40]!r} is outside {WINDOW}")
    return int(parsed.timestamp() * 1000)


class CloudEvent(BaseModel):
    """An Event Streams cloud event around a TaskRouter payload in snake_case."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Annotated[str, Field(strict=True, max_length=MAX_SID)]
    id: Text = None
    time: Annotated[int | None, BeforeValidator(_cloud_time)] = None
    data: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        """`data.payload`, or `data` itself when a relay flattened it."""
        found = self.data.get("payload", self.data)
        if not isinstance(found, dict):
            raise EventError("cloud event: data.payload must be an object")
        return found
