"""The metric catalog of METRICS.md: each metric once, as data.

The `Metrics` GraphQL type, `metricDefinitions` and the SQL all derive from `CATALOG`; adding a
metric is one entry here. Each entry's `sql` builds its aggregate from the data set's columns and
the thresholds of the request, so one grouped statement computes every selected metric of a data
set at once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, distinct, func, literal, or_, true

from resolvers.metrics.percentile import PercentileCont
from warehouse.tables import assessments as a
from warehouse.tables import segments as s
from warehouse.tables import workload as w


class DataSet(enum.Enum):
    SEGMENTS = "segments"
    WORKLOAD = "workload"
    ASSESSMENTS = "assessments"


class Unit(enum.Enum):
    COUNT = "count"
    SECONDS = "seconds"
    RATIO = "ratio"
    PERCENT = "percent"


@dataclass(frozen=True)
class Thresholds:
    """The settings metrics depend on; a query may override them per field."""

    sla_threshold: int = 60
    short_abandon_threshold: int = 5
    available_activity: str = "Available"
    offline_activity: str = "Offline"
    # per-queue SLA targets as sorted (queue, seconds) pairs; `sla_threshold` for the other queues
    sla_thresholds: tuple[tuple[str, int], ...] = ()
    # the fraction a percentile metric asks for: a required argument of its field, no setting
    percentile: float | None = None

    def sla_for(self, queue: str | None) -> int:
        """The SLA threshold in force for segments of `queue`."""
        return dict(self.sla_thresholds).get(queue or "", self.sla_threshold)

    def sla_limit(self) -> Expression:
        """Each segment's own queue's threshold: totals across queues stay right."""
        if not self.sla_thresholds:
            return literal(self.sla_threshold)
        return case(dict(self.sla_thresholds), value=s.c.queue, else_=self.sla_threshold)

    def fraction(self) -> float:
        """The percentile asked for (its field requires it; `orderBy` cannot give one)."""
        if self.percentile is None:
            raise ValueError("a percentile metric needs its `percentile` argument")
        return self.percentile

    def with_overrides(self, overrides: dict[str, Any]) -> Thresholds:
        """These thresholds with a field's arguments; `slaThreshold` then applies to every queue."""
        if "sla_threshold" in overrides:
            overrides = {**overrides, "sla_thresholds": ()}
        return replace(self, **overrides)


Expression = ColumnElement[Any]
Builder = Callable[[Thresholds], Expression]


@dataclass(frozen=True)
class Metric:
    name: str
    title: str
    description: str
    dataset: DataSet
    unit: Unit
    formula: str
    sql: Builder
    # "sum": whole numbers that are 0 over nothing (Int!); "max": Int, null over nothing;
    # "avg": averages and ratios, Float, null over nothing
    shape: str
    thresholds: tuple[str, ...] = ()

    @property
    def integer(self) -> bool:
        return self.shape != "avg"

    @property
    def empty(self) -> int | None:
        """The value over no rows: 0 for counts and sums, null for the rest."""
        return 0 if self.shape == "sum" else None


# --- building blocks ------------------------------------------------------------------------

CONV = s.c.kind == "CONVERSATION"
QUEUE = s.c.kind == "QUEUE"
AGENT_STATUS = s.c.kind == "AGENT_STATUS"
HANDLED = and_(CONV, s.c.abandoned == "NO", s.c.agent_id.is_not(None))
ABANDONED = and_(s.c.abandoned == "YES", s.c.abandoned_phase.is_distinct_from("Voicemail"))


def count_if(condition: ColumnElement[bool]) -> Expression:
    return func.count(case((condition, 1)))


def conversations_if(condition: ColumnElement[bool]) -> Expression:
    return func.count(distinct(case((condition, s.c.conversation_id))))


def sum_if(
    column: ColumnElement[object], condition: ColumnElement[bool] | None = None
) -> Expression:
    value = column if condition is None else case((condition, column))
    return func.coalesce(func.sum(value), 0)


def avg_if(
    column: ColumnElement[object], condition: ColumnElement[bool] | None = None
) -> Expression:
    value = column if condition is None else case((condition, column))
    return func.avg(cast(value, Float))


def ratio(numerator: Expression, denominator: Expression) -> Expression:
    """A fraction that is NULL, not an error, when the denominator is 0."""
    return cast(numerator, Float) / func.nullif(denominator, 0)


def _handling_seconds() -> Expression:
    ring = case((s.c.direction == "OUTBOUND", func.coalesce(s.c.ring_time, 0)), else_=0)
    work = func.coalesce(s.c.talk_time, 0) + func.coalesce(s.c.wrap_up_time, 0) + ring
    return sum_if(work, HANDLED)


def _handled_work() -> Expression:
    return sum_if(func.coalesce(s.c.talk_time, 0) + func.coalesce(s.c.wrap_up_time, 0), HANDLED)


def _activity(name_of: Callable[[Thresholds], str]) -> Builder:
    return lambda t: sum_if(s.c.activity_time, and_(AGENT_STATUS, s.c.activity == name_of(t)))


def _logged_in(t: Thresholds) -> Expression:
    return sum_if(s.c.activity_time, AGENT_STATUS) - _activity(lambda x: x.offline_activity)(t)


def median_if(column: ColumnElement[object], condition: ColumnElement[bool]) -> Expression:
    return PercentileCont(case((condition, column)), 0.5)


def _experience_seconds() -> Expression:
    """Queue seconds of Q segments plus talk and hold seconds of CONV segments."""
    talk_and_hold = func.coalesce(s.c.talk_time, 0) + func.coalesce(s.c.hold_time, 0)
    counted = s.c.conversation_id.is_not(None)  # the same conversations as the denominator
    return sum_if(func.coalesce(s.c.queue_time, 0), and_(QUEUE, counted)) + sum_if(
        talk_and_hold, and_(CONV, counted)
    )


def _short_abandoned_rows(t: Thresholds) -> ColumnElement[bool]:
    return and_(QUEUE, ABANDONED, s.c.queue_time <= t.short_abandon_threshold)


def _subject_to_sla_rows(t: Thresholds) -> ColumnElement[bool]:
    return and_(QUEUE, or_(s.c.queue_time > t.short_abandon_threshold, s.c.abandoned == "NO"))


def _within_sla_rows(t: Thresholds) -> ColumnElement[bool]:
    return and_(QUEUE, s.c.abandoned == "NO", s.c.queue_time < t.sla_limit())


def _short_abandoned(t: Thresholds) -> Expression:
    return conversations_if(_short_abandoned_rows(t))


def _subject_to_sla(t: Thresholds) -> Expression:
    return count_if(_subject_to_sla_rows(t))


def _within_sla(t: Thresholds) -> Expression:
    return count_if(_within_sla_rows(t))


SEG, WL, AS = DataSet.SEGMENTS, DataSet.WORKLOAD, DataSet.ASSESSMENTS
COUNT, SECONDS, RATIO, PERCENT = Unit.COUNT, Unit.SECONDS, Unit.RATIO, Unit.PERCENT
SLA = ("sla_threshold", "short_abandon_threshold")
SHORT = ("short_abandon_threshold",)
AVAILABLE = ("available_activity",)
OFFLINE = ("offline_activity",)
PERCENTILE = ("percentile",)


def _m(name: str, title: str, description: str, dataset: DataSet, unit: Unit, formula: str,
       sql: Builder, shape: bool | str, thresholds: tuple[str, ...] = ()) -> Metric:  # fmt: skip
    kind = shape if isinstance(shape, str) else ("sum" if shape else "avg")
    return Metric(name, title, description, dataset, unit, formula, sql, kind, thresholds)


CATALOG: list[Metric] = [
    _m("segments", "Segments", "Number of segments in scope.", SEG, COUNT,
       "count of S", lambda t: func.count(), True),
    _m("conversations", "Conversations",
       "Distinct conversations with a Conversation segment, abandoned ones included.", SEG, COUNT,
       "#conv(CONV)", lambda t: conversations_if(CONV), True),
    _m("handledConversations", "Handled conversations",
       "Distinct conversations an agent handled (not abandoned).", SEG, COUNT,
       "#conv(CONV and abandoned = NO and agent is not null)",
       lambda t: conversations_if(HANDLED), True),
    _m("abandonedConversations", "Abandoned conversations",
       "Distinct conversations the customer abandoned (voicemails excluded).", SEG, COUNT,
       "#conv(abandoned = YES and abandonedPhase is distinct from 'Voicemail')",
       lambda t: conversations_if(ABANDONED), True),
    _m("abandonedConversationsRate", "Abandoned conversations rate",
       "Share of conversations that were abandoned, 0..1.", SEG, RATIO,
       "abandonedConversations / conversations",
       lambda t: ratio(conversations_if(ABANDONED), conversations_if(CONV)), False),
    _m("shortAbandonedConversations", "Short abandoned conversations",
       "Distinct conversations abandoned in queue within the short-abandon threshold.", SEG, COUNT,
       "#conv(Q and abandoned and queueTime <= shortAbandonThreshold)", _short_abandoned, True,
       SHORT),
    _m("queueSegments", "Queue segments", "Number of Queue segments.", SEG, COUNT,
       "count where Q", lambda t: count_if(QUEUE), True),
    _m("abandonedSegments", "Abandoned segments", "Queue segments that were abandoned.", SEG,
       COUNT, "count where Q and abandoned", lambda t: count_if(and_(QUEUE, ABANDONED)), True),
    _m("abandonedSegmentsRate", "Abandoned segments rate",
       "Share of queue segments that were abandoned, 0..1.", SEG, RATIO,
       "abandonedSegments / queueSegments",
       lambda t: ratio(count_if(and_(QUEUE, ABANDONED)), count_if(QUEUE)), False),
    _m("missedSegments", "Missed segments", "Reservations an agent did not answer in time.", SEG,
       COUNT, "count where kind = MISSED_CONVERSATION",
       lambda t: count_if(s.c.kind == "MISSED_CONVERSATION"), True),
    _m("rejectedSegments", "Rejected segments", "Reservations an agent declined.", SEG, COUNT,
       "count where kind = REJECTED_CONVERSATION",
       lambda t: count_if(s.c.kind == "REJECTED_CONVERSATION"), True),
    _m("revokedSegments", "Revoked segments", "Reservations withdrawn by routing.", SEG, COUNT,
       "count where kind = REVOKED_CONVERSATION",
       lambda t: count_if(s.c.kind == "REVOKED_CONVERSATION"), True),
    _m("transferredConversations", "Transferred conversations",
       "Distinct conversations that reached a second agent segment.", SEG, COUNT,
       "#conv(CONV and segmentOrder > 1)",
       lambda t: conversations_if(and_(CONV, s.c.segment_order > 1)), True),
    _m("conversationsWithHold", "Conversations with hold",
       "Distinct conversations in which the customer was put on hold.", SEG, COUNT,
       "#conv(CONV and holdTime > 0)",
       lambda t: conversations_if(and_(CONV, s.c.hold_time > 0)), True),
    _m("conversationsWithHoldRate", "Conversations with hold rate",
       "Share of handled conversations with a hold, 0..1.", SEG, RATIO,
       "conversationsWithHold / handledConversations",
       lambda t: ratio(conversations_if(and_(CONV, s.c.hold_time > 0)), conversations_if(HANDLED)),
       False),
    _m("talkTime", "Talk time", "Seconds of talk on Conversation segments.", SEG, SECONDS,
       "sum of talkTime over CONV", lambda t: sum_if(s.c.talk_time, CONV), True),
    _m("averageTalkTime", "Average talk time", "Average talk seconds of handled segments.", SEG,
       SECONDS, "average talkTime over handled", lambda t: avg_if(s.c.talk_time, HANDLED), False),
    _m("holdTime", "Hold time", "Seconds on hold on Conversation segments.", SEG, SECONDS,
       "sum of holdTime over CONV", lambda t: sum_if(s.c.hold_time, CONV), True),
    _m("averageHoldTime", "Average hold time",
       "Average hold seconds over the segments that had a hold.", SEG, SECONDS,
       "average holdTime over CONV and holdTime > 0",
       lambda t: avg_if(s.c.hold_time, and_(CONV, s.c.hold_time > 0)), False),
    _m("wrapUpTime", "Wrap-up time", "Seconds of after-call work on Conversation segments.", SEG,
       SECONDS, "sum of wrapUpTime over CONV", lambda t: sum_if(s.c.wrap_up_time, CONV), True),
    _m("averageWrapUpTime", "Average wrap-up time",
       "Average wrap-up seconds of handled segments.", SEG, SECONDS,
       "average wrapUpTime over handled", lambda t: avg_if(s.c.wrap_up_time, HANDLED), False),
    _m("handlingTime", "Handling time",
       "Talk plus wrap-up seconds of handled segments, plus ring time on outbound ones.", SEG,
       SECONDS, "sum over handled of talkTime + wrapUpTime (+ ringTime when OUTBOUND)",
       lambda t: _handling_seconds(), True),
    _m("averageHandlingTime", "Average handling time (AHT)",
       "Handling seconds per handled conversation.", SEG, SECONDS,
       "handlingTime / handledConversations",
       lambda t: ratio(_handling_seconds(), conversations_if(HANDLED)), False),
    _m("averageSpeedOfAnswer", "Average speed of answer (ASA)",
       "Average seconds in queue before handled segments.", SEG, SECONDS,
       "average queueTime over handled", lambda t: avg_if(s.c.queue_time, HANDLED), False),
    _m("medianTalkTime", "Median talk time", "Median talk seconds of handled segments.", SEG,
       SECONDS, "median of talkTime over handled", lambda t: median_if(s.c.talk_time, HANDLED),
       False),
    _m("medianHoldTime", "Median hold time",
       "Median hold seconds over the segments that had a hold (those without have no influence).",
       SEG, SECONDS, "median of holdTime over CONV and holdTime > 0",
       lambda t: median_if(s.c.hold_time, and_(CONV, s.c.hold_time > 0)), False),
    _m("medianSpeedOfAnswer", "Median speed of answer",
       "Median seconds in queue before handled segments.", SEG, SECONDS,
       "median of queueTime over handled", lambda t: median_if(s.c.queue_time, HANDLED), False),
    _m("speedOfAnswerPercentile", "Speed of answer percentile",
       "The given percentile (0..1) of the seconds in queue before handled segments.", SEG,
       SECONDS, "percentile(percentile) of queueTime over handled",
       lambda t: PercentileCont(case((HANDLED, s.c.queue_time)), t.fraction()), False,
       PERCENTILE),
    _m("averageExperienceTime", "Average experience time",
       "Seconds a customer spent trying to get the issue solved (queue, talk and hold), per "
       "conversation with a Queue or Conversation segment in scope.", SEG, SECONDS,
       "(sum of queueTime over Q + sum of talkTime + holdTime over CONV) / #conv(Q or CONV)",
       lambda t: ratio(_experience_seconds(), conversations_if(or_(QUEUE, CONV))), False),
    _m("queueTime", "Queue time", "Seconds customers waited in queues.", SEG, SECONDS,
       "sum of queueTime over Q", lambda t: sum_if(s.c.queue_time, QUEUE), True),
    _m("averageQueueTime", "Average queue time", "Average seconds of a queue segment.", SEG,
       SECONDS, "average queueTime over Q", lambda t: avg_if(s.c.queue_time, QUEUE), False),
    _m("longestQueueTime", "Longest queue time", "Longest wait of a queue segment (null if none).",
       SEG, SECONDS, "maximum queueTime over Q",
       lambda t: func.max(case((QUEUE, s.c.queue_time))), "max"),
    _m("averageAbandonTime", "Average abandon time",
       "Average seconds before customers abandoned in queue.", SEG, SECONDS,
       "average abandonTime over Q and abandoned",
       lambda t: avg_if(s.c.abandon_time, and_(QUEUE, ABANDONED)), False),
    _m("averageRingTime", "Average ring time", "Average ring seconds of handled segments.", SEG,
       SECONDS, "average ringTime over handled", lambda t: avg_if(s.c.ring_time, HANDLED), False),
    _m("segmentsSubjectToSla", "Segments subject to SLA",
       "Queue segments answered, or abandoned after the short-abandon threshold.", SEG, COUNT,
       "count where Q and (queueTime > shortAbandonThreshold or abandoned = NO)", _subject_to_sla,
       True, SHORT),
    _m("segmentsWithinSla", "Segments within SLA",
       "Queue segments answered within the SLA threshold.", SEG, COUNT,
       "count where Q and abandoned = NO and queueTime < slaThreshold of the segment's queue",
       _within_sla, True,
       ("sla_threshold",)),
    _m("serviceLevel", "Service level", "Share of SLA-relevant queue segments within SLA, 0..1.",
       SEG, RATIO, "segmentsWithinSla / segmentsSubjectToSla",
       lambda t: ratio(_within_sla(t), _subject_to_sla(t)), False, SLA),
    _m("activityTime", "Activity time", "Seconds of agent status (group by ACTIVITY to split).",
       SEG, SECONDS, "sum of activityTime over AS",
       lambda t: sum_if(s.c.activity_time, AGENT_STATUS), True),
    _m("availableTime", "Available time", "Seconds agents spent in the available activity.", SEG,
       SECONDS, "sum of activityTime over AS and activity = availableActivity",
       _activity(lambda t: t.available_activity), True, AVAILABLE),
    _m("offlineTime", "Offline time", "Seconds agents spent in the offline activity.", SEG,
       SECONDS, "sum of activityTime over AS and activity = offlineActivity",
       _activity(lambda t: t.offline_activity), True, OFFLINE),
    _m("loggedInTime", "Logged-in time", "Agent status seconds outside the offline activity.",
       SEG, SECONDS, "activityTime - offlineTime", _logged_in, True, OFFLINE),
    _m("occupancy", "Occupancy",
       "Handled talk and wrap-up seconds per logged-in second (over 1 with parallel chats).",
       SEG, RATIO, "(talkTime + wrapUpTime of handled segments) / loggedInTime",
       lambda t: ratio(_handled_work(), _logged_in(t)), False, OFFLINE),
    _m("customers", "Customers", "Distinct customers of Conversation segments.", SEG, COUNT,
       "distinct customers among CONV",
       lambda t: func.count(distinct(case((CONV, s.c.customer_id)))), True),
    _m("workloadTalkTime", "Workload talk time", "Talk seconds of the slices in scope.", WL,
       SECONDS, "sum of slice talkTime", lambda t: sum_if(w.c.talk_time), True),
    _m("workloadWrapUpTime", "Workload wrap-up time", "Wrap-up seconds of the slices in scope.",
       WL, SECONDS, "sum of slice wrapUpTime", lambda t: sum_if(w.c.wrap_up_time), True),
    _m("workloadActivityTime", "Workload activity time",
       "Activity seconds of the slices in scope.", WL, SECONDS, "sum of slice activityTime",
       lambda t: sum_if(w.c.activity_time), True),
    _m("idleTime", "Idle time",
       "Available seconds in slices where the agent handled no conversation.", WL, SECONDS,
       "sum of activityTime where AGENT_STATUS and activity = availableActivity and "
       "parallelConversations = 0",
       lambda t: sum_if(w.c.activity_time, and_(w.c.kind == "AGENT_STATUS",
                        w.c.activity == t.available_activity, w.c.parallel_conversations == 0)),
       True, AVAILABLE),
    _m("averageParallelConversations", "Average parallel conversations",
       "Average conversations handled at once, over conversation slices.", WL, COUNT,
       "average parallelConversations over kind = CONVERSATION slices",
       lambda t: avg_if(w.c.parallel_conversations, w.c.kind == "CONVERSATION"), False),
    _m("assessments", "Assessments", "Scored assessment answers.", AS, COUNT,
       "count where type = ASSESSMENT", lambda t: count_if(a.c.type == "ASSESSMENT"), True),
    _m("comments", "Comments", "Comments on segments.", AS, COUNT, "count where type = COMMENT",
       lambda t: count_if(a.c.type == "COMMENT"), True),
    _m("averageAssessmentScore", "Average assessment score",
       "Average score percentage of assessment answers, 0–100.", AS, PERCENT,
       "average scorePercentage where type = ASSESSMENT",
       lambda t: avg_if(a.c.score_percentage, a.c.type == "ASSESSMENT"), False),
    _m("assessedSegments", "Assessed segments",
       "Distinct segments with at least one assessment answer.", AS, COUNT,
       "distinct segments with an ASSESSMENT",
       lambda t: func.count(distinct(case((a.c.type == "ASSESSMENT", a.c.segment_id)))), True),
]  # fmt: skip

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOG}
assert len(BY_NAME) == len(CATALOG), "metric names are unique"

Rows = Callable[[Thresholds], ColumnElement[bool]]


def _always(condition: ColumnElement[bool]) -> Rows:
    return lambda t: condition


def _kind(kind: str) -> Rows:
    return _always(s.c.kind == kind)


# The segments behind a segment metric (`ReportRow.segments(metric:)`): those it counts, or the
# ones it sums or averages over, so the rows behind a number add up to it. Every segment metric
# has an entry (a test checks it); for a ratio it is the denominator's segments.
COUNTED: dict[str, Rows] = {
    "segments": _always(true()),
    "conversations": _always(CONV),
    "handledConversations": _always(HANDLED),
    "abandonedConversations": _always(ABANDONED),
    "abandonedConversationsRate": _always(CONV),
    "shortAbandonedConversations": _short_abandoned_rows,
    "queueSegments": _always(QUEUE),
    "abandonedSegments": _always(and_(QUEUE, ABANDONED)),
    "abandonedSegmentsRate": _always(QUEUE),
    "missedSegments": _kind("MISSED_CONVERSATION"),
    "rejectedSegments": _kind("REJECTED_CONVERSATION"),
    "revokedSegments": _kind("REVOKED_CONVERSATION"),
    "transferredConversations": _always(and_(CONV, s.c.segment_order > 1)),
    "conversationsWithHold": _always(and_(CONV, s.c.hold_time > 0)),
    "conversationsWithHoldRate": _always(HANDLED),
    "talkTime": _always(CONV),
    "averageTalkTime": _always(HANDLED),
    "holdTime": _always(CONV),
    "averageHoldTime": _always(and_(CONV, s.c.hold_time > 0)),
    "wrapUpTime": _always(CONV),
    "averageWrapUpTime": _always(HANDLED),
    "handlingTime": _always(HANDLED),
    "averageHandlingTime": _always(HANDLED),
    "averageSpeedOfAnswer": _always(HANDLED),
    "medianTalkTime": _always(HANDLED),
    "medianHoldTime": _always(and_(CONV, s.c.hold_time > 0)),
    "medianSpeedOfAnswer": _always(HANDLED),
    "speedOfAnswerPercentile": _always(HANDLED),
    "averageExperienceTime": _always(and_(or_(QUEUE, CONV), s.c.conversation_id.is_not(None))),
    "queueTime": _always(QUEUE),
    "averageQueueTime": _always(QUEUE),
    "longestQueueTime": _always(QUEUE),
    "averageAbandonTime": _always(and_(QUEUE, ABANDONED)),
    "averageRingTime": _always(HANDLED),
    "segmentsSubjectToSla": _subject_to_sla_rows,
    "segmentsWithinSla": _within_sla_rows,
    "serviceLevel": _subject_to_sla_rows,
    "activityTime": _always(AGENT_STATUS),
    "availableTime": lambda t: and_(AGENT_STATUS, s.c.activity == t.available_activity),
    "offlineTime": lambda t: and_(AGENT_STATUS, s.c.activity == t.offline_activity),
    "loggedInTime": lambda t: and_(AGENT_STATUS, s.c.activity.is_distinct_from(t.offline_activity)),
    "occupancy": _always(HANDLED),
    "customers": _always(and_(CONV, s.c.customer_id.is_not(None))),
}
