"""Cutting segments into 15-minute workload slices.

Intraday reports need time where it was spent: a 40-minute call that started at 10:05 puts
10 minutes into the 10:00 interval and 15 each into 10:15 and 10:30, not 40 into 10:00. Slices are
local quarter hours of the workspace time zone, so a zone with a non-hour offset still gets slices
that start on its own :00/:15/:30/:45.

Everything here is pure (no database), so the demo generator and the TaskRouter ingest share it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

QUARTER_HOUR = 900
"""Seconds in one workload interval."""

SLICED_KINDS = frozenset({"CONVERSATION", "AGENT_STATUS"})
"""Segment kinds the Workload data set covers; in-progress and virtual kinds are not sliced."""

WorkloadRow = dict[str, Any]
"""One `workload` table row, keyed by column name."""


def utc_offset(t: int, tz: ZoneInfo) -> int:
    """The zone's offset from UTC, in seconds, at epoch second `t`."""
    offset = datetime.fromtimestamp(t, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def quarter_start(t: int, tz: ZoneInfo) -> int:
    """The epoch second at which the local quarter hour containing `t` began."""
    return t - (t + utc_offset(t, tz)) % QUARTER_HOUR


def next_quarter_start(q: int, tz: ZoneInfo) -> int:
    """The start of the local quarter hour after the one that starts at `q`.

    With offsets in whole quarter hours (every zone today) this is `q + 900`; an offset change by
    a non-multiple of 15 minutes moves the boundary, and this still always moves forward.
    """
    candidate = quarter_start(q + QUARTER_HOUR, tz)
    return candidate if candidate > q else q + QUARTER_HOUR


def _overlap(start: int, end: int, window_start: int, window_end: int) -> int:
    """Seconds of [start, end) inside [window_start, window_end)."""
    return max(0, min(end, window_end) - max(start, window_start))


def slice_segment(
    *,
    segment_id: str,
    kind: str,
    started_at: int,
    talk_time: int | None,
    wrap_up_time: int | None,
    activity_time: int | None,
    activity: str | None,
    agent_id: str | None,
    tz: ZoneInfo,
) -> list[WorkloadRow]:
    """The workload rows of one segment, one per local quarter hour it touches.

    A conversation's `started_at` is the moment the agent answered: talk runs from there and
    wrap-up follows immediately. An agent-status segment's activity runs from `started_at`.
    A zero-length segment still gets one all-zero slice, so every sliced segment is visible in
    the Workload data set. Kinds outside `SLICED_KINDS` give no rows.
    """
    if kind not in SLICED_KINDS:
        return []
    if kind == "CONVERSATION":
        talk = talk_time or 0
        wrap = wrap_up_time or 0
        active = 0
    else:
        talk = wrap = 0
        active = activity_time or 0
    talk_end = started_at + talk
    wrap_end = talk_end + wrap
    activity_end = started_at + active
    end = max(wrap_end, activity_end)

    rows: list[WorkloadRow] = []
    q = quarter_start(started_at, tz)
    while True:
        q_end = next_quarter_start(q, tz)
        rows.append(
            {
                "workload_id": f"{segment_id}:{len(rows) + 1}",
                "segment_id": segment_id,
                "order": len(rows) + 1,
                "agent_id": agent_id,
                "kind": kind,
                "activity": activity,
                "interval_start": q,
                "talk_time": _overlap(started_at, talk_end, q, q_end),
                "wrap_up_time": _overlap(talk_end, wrap_end, q, q_end),
                "activity_time": _overlap(started_at, activity_end, q, q_end),
                "parallel_conversations": 0,
            }
        )
        if q_end >= end:
            return rows
        q = q_end


def slice_segment_row(segment: Mapping[str, Any], tz: ZoneInfo) -> list[WorkloadRow]:
    """`slice_segment` for a `segments` row dict (epoch-second or datetime `started_at`)."""
    started_at = segment["started_at"]
    if isinstance(started_at, datetime):
        started_at = int(started_at.timestamp())
    return slice_segment(
        segment_id=segment["segment_id"],
        kind=segment["kind"],
        started_at=started_at,
        talk_time=segment.get("talk_time"),
        wrap_up_time=segment.get("wrap_up_time"),
        activity_time=segment.get("activity_time"),
        activity=segment.get("activity"),
        agent_id=segment.get("agent_id"),
        tz=tz,
    )


def busy_interval(
    started_at: int, talk_time: int | None, wrap_up_time: int | None
) -> tuple[int, int]:
    """The half-open interval an agent is busy with a conversation: talk then wrap-up.

    A zero-length conversation still occupies its first second, so it counts in the slice it
    belongs to.
    """
    duration = (talk_time or 0) + (wrap_up_time or 0)
    return started_at, started_at + max(duration, 1)


class BusyIndex:
    """Counts, per agent, the conversations overlapping a time window in O(log n).

    A busy interval [s, e) overlaps [q, q') when s < q' and e > q. Every interval with e <= q also
    has s < q', so the count is #(s < q') - #(e <= q): two bisections over sorted starts and ends.
    """

    def __init__(self, intervals_by_agent: Mapping[str, Iterable[tuple[int, int]]]) -> None:
        self._starts: dict[str, list[int]] = {}
        self._ends: dict[str, list[int]] = {}
        for agent_id, intervals in intervals_by_agent.items():
            pairs = list(intervals)
            self._starts[agent_id] = sorted(start for start, _ in pairs)
            self._ends[agent_id] = sorted(end for _, end in pairs)

    def add(self, agent_id: str, start: int, end: int) -> None:
        """Record one more busy interval (the demo adds them as it routes conversations)."""
        insort(self._starts.setdefault(agent_id, []), start)
        insort(self._ends.setdefault(agent_id, []), end)

    def count(self, agent_id: str | None, start: int, end: int) -> int:
        """Conversations of `agent_id` whose busy interval overlaps [start, end)."""
        if agent_id is None or agent_id not in self._starts:
            return 0
        began = bisect_left(self._starts[agent_id], end)
        finished = bisect_right(self._ends[agent_id], start)
        return began - finished


def fill_parallel_conversations(
    slices: Sequence[MutableMapping[str, Any]],
    conversation_intervals_by_agent: Mapping[str, Iterable[tuple[int, int]]] | BusyIndex,
) -> None:
    """Set each slice's `parallel_conversations` in place.

    The value is the number of the slice agent's conversations (see `busy_interval`) overlapping
    the slice's quarter hour, the slice's own conversation included.
    """
    index = (
        conversation_intervals_by_agent
        if isinstance(conversation_intervals_by_agent, BusyIndex)
        else BusyIndex(conversation_intervals_by_agent)
    )
    for row in slices:
        start = row["interval_start"]
        if isinstance(start, datetime):
            start = int(start.timestamp())
        row["parallel_conversations"] = index.count(row["agent_id"], start, start + QUARTER_HOUR)
