"""METRICS.md in plain Python over raw rows: the independent answer the gateway is checked against.

Written from the spec's formulas, not from the catalog's SQL: if both agree on the demo data for
many groupings, filters and time ranges, the SQL is right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import table_rows

Row = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    sla: int = 60
    short: int = 5
    available: str = "Available"
    offline: str = "Offline"
    sla_by_queue: tuple[tuple[str, int], ...] = ()
    percentile: float = 0.9  # what the tests ask `speedOfAnswerPercentile` for

    def sla_of(self, queue: str | None) -> int:
        """The threshold a queue segment is judged against: its queue's, else `sla`."""
        return dict(self.sla_by_queue).get(queue or "", self.sla)


DEFAULT_LIMITS = Limits()


def _conv(rows: Iterable[Row], keep: Callable[[Row], bool]) -> int:
    return len({r["conversation_id"] for r in rows if keep(r) and r["conversation_id"] is not None})


def _sum(rows: Iterable[Row], column: str, keep: Callable[[Row], bool] = lambda r: True) -> int:
    return sum(r[column] for r in rows if keep(r) and r[column] is not None)


def _avg(rows: Iterable[Row], column: str, keep: Callable[[Row], bool]) -> float | None:
    values = [r[column] for r in rows if keep(r) and r[column] is not None]
    return sum(values) / len(values) if values else None


def percentile_cont(values: Iterable[Any], fraction: float) -> float | None:
    """Linear interpolation between the two nearest ranks, as PostgreSQL's percentile_cont."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def _count(rows: Iterable[Row], keep: Callable[[Row], bool]) -> int:
    return sum(1 for r in rows if keep(r))


def _experience(s: list[Row]) -> float | None:
    """Per conversation with a Q or CONV segment: its Q queue time + CONV talk and hold time."""
    spent: dict[Any, int] = defaultdict(int)
    for r in s:
        if r["kind"] == "QUEUE":
            spent[r["conversation_id"]] += r["queue_time"] or 0
        elif r["kind"] == "CONVERSATION":
            spent[r["conversation_id"]] += (r["talk_time"] or 0) + (r["hold_time"] or 0)
    spent.pop(None, None)
    return sum(spent.values()) / len(spent) if spent else None


def segment_metrics(s: list[Row], lim: Limits) -> dict[str, Any]:
    def conv(r: Row) -> bool:
        return r["kind"] == "CONVERSATION"

    def queue(r: Row) -> bool:
        return r["kind"] == "QUEUE"

    def status(r: Row) -> bool:
        return r["kind"] == "AGENT_STATUS"

    def handled(r: Row) -> bool:
        return conv(r) and r["abandoned"] == "NO" and r["agent_id"] is not None

    def abandoned(r: Row) -> bool:
        return r["abandoned"] == "YES" and r["abandoned_phase"] != "Voicemail"

    def qt(r: Row) -> int | None:
        return r["queue_time"]  # type: ignore[no-any-return]

    conversations = _conv(s, conv)
    handled_conversations = _conv(s, handled)
    abandoned_conversations = _conv(s, abandoned)
    queue_segments = _count(s, queue)
    abandoned_segments = _count(s, lambda r: queue(r) and abandoned(r))
    with_hold = _conv(s, lambda r: conv(r) and (r["hold_time"] or 0) > 0)
    handling = sum(
        (r["talk_time"] or 0)
        + (r["wrap_up_time"] or 0)
        + ((r["ring_time"] or 0) if r["direction"] == "OUTBOUND" else 0)
        for r in s
        if handled(r)
    )
    subject = _count(
        s,
        lambda r: (
            queue(r) and ((qt(r) is not None and qt(r) > lim.short) or r["abandoned"] == "NO")
        ),  # type: ignore[operator]
    )
    within = _count(
        s,
        lambda r: (
            queue(r)
            and r["abandoned"] == "NO"
            and qt(r) is not None
            and qt(r) < lim.sla_of(r["queue"])
        ),  # type: ignore[operator]
    )
    activity = _sum(s, "activity_time", status)
    offline = _sum(s, "activity_time", lambda r: status(r) and r["activity"] == lim.offline)
    logged_in = activity - offline
    queue_times = [qt(r) for r in s if queue(r) and qt(r) is not None]
    handled_work = sum((r["talk_time"] or 0) + (r["wrap_up_time"] or 0) for r in s if handled(r))
    return {
        "segments": len(s),
        "conversations": conversations,
        "handledConversations": handled_conversations,
        "abandonedConversations": abandoned_conversations,
        "abandonedConversationsRate": _div(abandoned_conversations, conversations),
        "shortAbandonedConversations": _conv(
            s,
            lambda r: queue(r) and abandoned(r) and qt(r) is not None and qt(r) <= lim.short,  # type: ignore[operator]
        ),
        "queueSegments": queue_segments,
        "abandonedSegments": abandoned_segments,
        "abandonedSegmentsRate": _div(abandoned_segments, queue_segments),
        "missedSegments": _count(s, lambda r: r["kind"] == "MISSED_CONVERSATION"),
        "rejectedSegments": _count(s, lambda r: r["kind"] == "REJECTED_CONVERSATION"),
        "revokedSegments": _count(s, lambda r: r["kind"] == "REVOKED_CONVERSATION"),
        "transferredConversations": _conv(s, lambda r: conv(r) and (r["segment_order"] or 0) > 1),
        "conversationsWithHold": with_hold,
        "conversationsWithHoldRate": _div(with_hold, handled_conversations),
        "talkTime": _sum(s, "talk_time", conv),
        "averageTalkTime": _avg(s, "talk_time", handled),
        "holdTime": _sum(s, "hold_time", conv),
        "averageHoldTime": _avg(s, "hold_time", lambda r: conv(r) and (r["hold_time"] or 0) > 0),
        "wrapUpTime": _sum(s, "wrap_up_time", conv),
        "averageWrapUpTime": _avg(s, "wrap_up_time", handled),
        "handlingTime": handling,
        "averageHandlingTime": _div(handling, handled_conversations),
        "averageSpeedOfAnswer": _avg(s, "queue_time", handled),
        "medianTalkTime": percentile_cont((r["talk_time"] for r in s if handled(r)), 0.5),
        "medianHoldTime": percentile_cont(
            (r["hold_time"] for r in s if conv(r) and (r["hold_time"] or 0) > 0), 0.5
        ),
        "medianSpeedOfAnswer": percentile_cont((r["queue_time"] for r in s if handled(r)), 0.5),
        "speedOfAnswerPercentile": percentile_cont(
            (r["queue_time"] for r in s if handled(r)), lim.percentile
        ),
        "averageExperienceTime": _experience(s),
        "queueTime": _sum(s, "queue_time", queue),
        "averageQueueTime": _avg(s, "queue_time", queue),
        "longestQueueTime": max(queue_times) if queue_times else None,
        "averageAbandonTime": _avg(s, "abandon_time", lambda r: queue(r) and abandoned(r)),
        "averageRingTime": _avg(s, "ring_time", handled),
        "segmentsSubjectToSla": subject,
        "segmentsWithinSla": within,
        "serviceLevel": _div(within, subject),
        "activityTime": activity,
        "availableTime": _sum(
            s, "activity_time", lambda r: status(r) and r["activity"] == lim.available
        ),
        "offlineTime": offline,
        "loggedInTime": logged_in,
        "occupancy": _div(handled_work, logged_in),
        "customers": len({r["customer_id"] for r in s if conv(r) and r["customer_id"] is not None}),
    }


def workload_metrics(w: list[Row], lim: Limits) -> dict[str, Any]:
    return {
        "workloadTalkTime": _sum(w, "talk_time"),
        "workloadWrapUpTime": _sum(w, "wrap_up_time"),
        "workloadActivityTime": _sum(w, "activity_time"),
        "idleTime": _sum(
            w,
            "activity_time",
            lambda r: (
                r["kind"] == "AGENT_STATUS"
                and r["activity"] == lim.available
                and r["parallel_conversations"] == 0
            ),
        ),
        "averageParallelConversations": _avg(
            w, "parallel_conversations", lambda r: r["kind"] == "CONVERSATION"
        ),
    }


def assessment_metrics(a: list[Row], lim: Limits) -> dict[str, Any]:
    def scored(r: Row) -> bool:
        return r["type"] == "ASSESSMENT"

    return {
        "assessments": _count(a, scored),
        "comments": _count(a, lambda r: r["type"] == "COMMENT"),
        "averageAssessmentScore": _avg(a, "score_percentage", scored),
        "assessedSegments": len({r["segment_id"] for r in a if scored(r)}),
    }


DATASETS = ("segments", "workload", "assessments")
COMPUTE = {
    "segments": segment_metrics,
    "workload": workload_metrics,
    "assessments": assessment_metrics,
}
UTC_ZONE = ZoneInfo("UTC")
TIME = {"segments": "started_at", "workload": "interval_start", "assessments": "created_at"}


@dataclass
class Warehouse:
    """All raw rows of the demo database, read once."""

    segments: list[Row]
    workload: list[Row]
    assessments: list[Row]
    agents: dict[str, Row]
    conversations: dict[str, Row]
    campaigns: dict[str, Row]
    projects: dict[str, Row]
    by_segment: dict[str, Row]

    @classmethod
    async def load(cls, engine: AsyncEngine) -> Warehouse:
        segments = await table_rows(engine, "Segment")
        return cls(
            segments=segments,
            workload=await table_rows(engine, "WorkloadItem"),
            assessments=await table_rows(engine, "Assessment"),
            agents={r["agent_id"]: r for r in await table_rows(engine, "Agent")},
            conversations={
                r["conversation_id"]: r for r in await table_rows(engine, "Conversation")
            },
            campaigns={r["campaign_id"]: r for r in await table_rows(engine, "Campaign")},
            projects={r["project_id"]: r for r in await table_rows(engine, "Project")},
            by_segment={r["segment_id"]: r for r in segments},
        )

    def segment_of(self, dataset: str, row: Row) -> Row:
        return row if dataset == "segments" else self.by_segment[row["segment_id"]]

    def dimension(self, name: str, dataset: str, row: Row, tz: ZoneInfo) -> Any:
        """The value of a report dimension for a row, as the GraphQL key prints it."""
        seg = self.segment_of(dataset, row)
        agent = self.agents.get(row["agent_id"] if dataset != "segments" else seg["agent_id"])
        conversation = self.conversations.get(seg["conversation_id"])
        campaign = self.campaigns.get(conversation["campaign_id"]) if conversation else None
        project = self.projects.get(campaign["project_id"]) if campaign else None
        local: datetime = row[TIME[dataset]].astimezone(tz)
        values: dict[str, Callable[[], Any]] = {
            "AGENT": lambda: agent["agent_id"] if agent else None,
            "TEAM": lambda: agent["team_id"] if agent else None,
            "DEPARTMENT": lambda: agent["department_id"] if agent else None,
            "HANDLING_TEAM": lambda: seg["handling_team_id"],
            "HANDLING_DEPARTMENT": lambda: seg["handling_department_id"],
            "QUEUE": lambda: seg["queue"],
            "CHANNEL": lambda: seg["communication_channel"],
            "DIRECTION": lambda: seg["direction"],
            "KIND": lambda: row["kind"] if dataset == "workload" else seg["kind"],
            "ACTIVITY": lambda: row["activity"] if dataset == "workload" else seg["activity"],
            "WORKFLOW": lambda: seg["workflow"],
            "OUTCOME": lambda: seg["outcome"],
            "CUSTOMER": lambda: seg["customer_id"],
            "CASE": lambda: conversation["case_id"] if conversation else None,
            "CAMPAIGN": lambda: conversation["campaign_id"] if conversation else None,
            "PROJECT": lambda: campaign["project_id"] if campaign else None,
            "INITIATIVE": lambda: project["initiative_id"] if project else None,
            "DATE": lambda: local.date().isoformat(),
            "YEAR": lambda: local.year,
            "QUARTER": lambda: (local.month - 1) // 3 + 1,
            "MONTH": lambda: local.month,
            "WEEK": lambda: local.isocalendar().week,
            "DAY_OF_WEEK": lambda: local.isoweekday(),
            "HOUR": lambda: local.hour,
            "INTERVAL_30_MINUTES": lambda: f"{local.hour:02d}:{local.minute // 30 * 30:02d}",
            "INTERVAL_15_MINUTES": lambda: f"{local.hour:02d}:{local.minute // 15 * 15:02d}",
        }
        return values[name]()

    def report(
        self,
        group_by: list[str],
        datasets: Iterable[str],
        *,
        tz: ZoneInfo = UTC_ZONE,
        start: datetime | None = None,
        end: datetime | None = None,
        keep: Callable[[Row], bool] = lambda seg: True,
        lim: Limits = Limits(),
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """Metric values per group key, computed row by row in Python."""
        found: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
        for dataset in datasets:
            groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
            for row in getattr(self, dataset):
                at = row[TIME[dataset]]
                if (start is not None and at < start) or (end is not None and at >= end):
                    continue
                if not keep(self.segment_of(dataset, row)):
                    continue
                key = tuple(self.dimension(d, dataset, row, tz) for d in group_by)
                groups[key].append(row)
            if not group_by and not groups:
                groups[()] = []
            for key, rows in groups.items():
                found[key].update(COMPUTE[dataset](rows, lim))
        # a group only some data sets have gets the "nothing" values of the others
        nothing = {n: v for d in datasets for n, v in COMPUTE[d]([], lim).items()}
        return {key: {**nothing, **values} for key, values in found.items()}
