"""A simulated contact as TaskRouter would have reported it at one instant ("now").

The demo simulates each contact to its end, then asks what of it had happened by `now`: steps
that had not begun are dropped, steps under way become the in-progress rows the ingest builds
from the same events (`warehouse/derive.py`): a customer still waiting is a `QUEUE` segment
without `queue_time`; an accepted conversation not yet completed is `CONVERSATION_IN_PROGRESS`
(with its `talk_time` once wrap-up began); a reservation still ringing is not reported yet. An
event counts as happened when its instant is before `now`.

Pure functions over row dicts, so a live demo feed can ask the same question of later instants.
"""

from __future__ import annotations

from typing import Any

from warehouse.derive import SEGMENT_DEFAULTS, TASK_WIDE

Row = dict[str, Any]

RESERVATION_KINDS = frozenset(
    {"MISSED_CONVERSATION", "REJECTED_CONVERSATION", "REVOKED_CONVERSATION"}
)
# what an accepted, unfinished conversation already knows; its facts and outcome come at the end
KNOWN_WHILE_IN_PROGRESS = TASK_WIDE | {
    "segment_id", "external_id", "conversation_id", "customer_id", "started_at",
    "time_in_seconds", "agent_id", "handling_team_id", "handling_department_id", "queue",
    "queue_time", "ring_time", "segment_order", "preceded_by_id",
}  # fmt: skip


def completed_at(row: Row) -> int:
    """When a handled conversation's reservation completes: accepted, talk, then wrap-up."""
    return int(row["started_at"]) + (row["talk_time"] or 0) + (row["wrap_up_time"] or 0)


def segment_at(row: Row, now: int) -> Row | None:
    """`row` as reported at `now`: itself, its in-progress form, or None (not reported yet)."""
    started = int(row["started_at"])
    if started >= now:
        return None
    kind = row["kind"]
    if kind == "QUEUE":
        if started + (row["queue_time"] or 0) < now:
            return row
        return row | {  # still waiting: not yet accepted, abandoned or moved
            "queue_time": None, "abandoned": "NO", "abandoned_phase": None,
            "abandon_time": None, "outcome": None, "destination": None,
        }  # fmt: skip
    if kind in RESERVATION_KINDS:
        return row if started + (row["ring_time"] or 0) < now else None
    if kind != "CONVERSATION" or row["agent_id"] is None or completed_at(row) < now:
        return row
    talk_end = started + (row["talk_time"] or 0)
    in_progress = SEGMENT_DEFAULTS | {k: row[k] for k in KNOWN_WHILE_IN_PROGRESS}
    return in_progress | {
        "kind": "CONVERSATION_IN_PROGRESS",
        "virtual": False,
        "talk_time": row["talk_time"] if talk_end < now else None,  # known once wrap-up began
        "wrap_up_time": None,
    }


def contact_at(rows: list[Row], now: int) -> list[Row]:
    """The segments of one contact reported at `now`, in their original order."""
    found = (segment_at(row, now) for row in rows)
    return [row for row in found if row is not None]
