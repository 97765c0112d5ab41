"""Task and worker attributes: which keys the warehouse reads, and the column each one fills.

TaskRouter carries attributes as free-form JSON. The keys the spec gives a meaning to are checked
against their column when an event arrives, so an absurd value is refused with the event that
brought it instead of failing, later, the write of every event stored with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warehouse import tables as t
from warehouse.fits import Misfit, coerce, scalar_text, to_date

# keys that are not segment columns (links, or derived by the ingest)
NOT_SEGMENT_KEYS = frozenset(
    {
        "conversation_id", "case", "campaign", "project", "initiative", "segment_id", "kind",
        "started_at", "agent_id", "customer_id", "handling_team_id", "handling_department_id",
        "preceded_by_id", "external_id", "virtual", "time_in_seconds",
    }
)  # fmt: skip
LINK_KEYS = ("conversation_id", "case", "campaign", "project", "initiative")
SEGMENT_COLUMNS = {c.name: c for c in t.segments.columns}
CUSTOMER_COLUMNS = {c.name: c for c in t.customers.columns}
TASK_KEYS = ("from", "to", "call_sid", "direction")
AGENT_STRINGS = (
    "email", "phone", "location", "manager", "role", "state",
    "agent_attribute_1", "agent_attribute_2", "agent_attribute_3",
)  # fmt: skip
WORKER_TEXT = (
    "full_name", "agent_id", *AGENT_STRINGS, "team_id", "team_name", "team_name_in_hierarchy",
    "department_id", "department_name", "department_name_in_hierarchy",
)  # fmt: skip
WORKER_DATES = ("date_joined", "date_left")


def nested(attributes: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The `conversations` or `customers` object of task attributes ({} when absent)."""
    value = attributes.get(name)
    return dict(value) if isinstance(value, dict) else {}


def check_task_attributes(attributes: Mapping[str, Any]) -> None:
    """Raise `Misfit` naming the first key the warehouse reads whose value fits no column."""
    for key in TASK_KEYS:
        if attributes.get(key) not in (None, ""):
            scalar_text(f"TaskAttributes {key}", attributes[key])
    for group in ("conversations", "customers"):
        if attributes.get(group) is not None and not isinstance(attributes[group], dict):
            raise Misfit(f"TaskAttributes {group} must be an object")
    for key, value in nested(attributes, "conversations").items():
        name = f"TaskAttributes conversations.{key}"
        if key in LINK_KEYS:
            if value not in (None, ""):
                scalar_text(name, value)
        elif key in SEGMENT_COLUMNS and key not in NOT_SEGMENT_KEYS:
            coerce(name, SEGMENT_COLUMNS[key], value)
    for key, value in nested(attributes, "customers").items():
        name = f"TaskAttributes customers.{key}"
        if key == "external_id":
            if value not in (None, ""):
                scalar_text(name, value)
        elif key in CUSTOMER_COLUMNS and key != "customer_id":
            coerce(name, CUSTOMER_COLUMNS[key], value)


def check_worker_attributes(attributes: Mapping[str, Any]) -> None:
    """Raise `Misfit` naming the first agent attribute whose value fits no column."""
    for key in WORKER_TEXT:
        if attributes.get(key) not in (None, ""):
            scalar_text(f"WorkerAttributes {key}", attributes[key])
    for key in WORKER_DATES:
        if attributes.get(key) not in (None, ""):
            to_date(f"WorkerAttributes {key}", attributes[key])
