"""The live picture: what is waiting, being handled and wrapped up now, and who is available.

Everything is read from the warehouse the TaskRouter ingest writes, in a fixed number of
statements whatever the number of queues and agents:

- a task waiting in a queue is a `QUEUE` segment still open (`queueTime` not yet known);
- a task an agent accepted is a `CONVERSATION_IN_PROGRESS` segment, in wrap-up once its talk
  time is known;
- an agent's current activity is their `AGENT_STATUS_IN_PROGRESS` segment (no such segment:
  logged out, counted as offline);
- today's handled, abandoned and service level come from the metric catalog through the same
  grouped statement `report` runs, so both agree for the same day and viewer.

"Serving a queue": an agent serves the queues of the conversations they were offered (handled,
in progress, missed, rejected or revoked) in the 24 hours before the picture's instant. The
warehouse keeps no routing skills, so routing is known only from what it did.

Row scope: the viewer sees the queues their visible segments served (all queues for admins) and
the agents they may see. A queue's waiting tasks are a fact of the queue, shown whole to whoever
sees its row; every other number counts only rows the viewer may see, as their queries do.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, and_, bindparam, case, cast, func, or_, select

from resolvers.cancel import urgent_reads
from resolvers.context import Context
from resolvers.entities import ENTITIES
from resolvers.filters import compile_attribute
from resolvers.metrics.catalog import BY_NAME, Thresholds
from resolvers.metrics.compute import Selected, Values, grouped, metric_scope
from resolvers.metrics.dimensions import Dimension
from resolvers.pages import run
from resolvers.scope import visible, visible_segments
from resolvers.viewer import Viewer
from warehouse import tables as t

T = TypeVar("T")

SHARED_FOR = timedelta(seconds=2)
"""How long a subscription that joins while the warehouse does not change reads the picture the
others read (and shows the same `asOf`) rather than asking for a new one."""

SERVING_WINDOW = timedelta(hours=24)
"""How far back an offered conversation makes an agent serve its queue, and how long a task may
wait before it is taken for stale (its closing events were lost)."""

OFFERED = (
    "CONVERSATION",
    "CONVERSATION_IN_PROGRESS",
    "MISSED_CONVERSATION",
    "REJECTED_CONVERSATION",
    "REVOKED_CONVERSATION",
)
IN_PROGRESS = "CONVERSATION_IN_PROGRESS"
STATUS_IN_PROGRESS = "AGENT_STATUS_IN_PROGRESS"

# today's numbers: response key -> catalog metric
TODAY = {
    "handledToday": "handledConversations",
    "abandonedToday": "abandonedConversations",
    "serviceLevelToday": "serviceLevel",
}

seg = t.segments
SEGMENT = ENTITIES["Segment"]


@dataclass(frozen=True)
class QueueNumbers:
    """One row of `Realtime.queues`."""

    queue: str
    waiting_tasks: int
    longest_wait: int | None
    active_tasks: int
    wrapping_tasks: int
    agents_available: int
    agents_unavailable: int
    agents_offline: int
    handled_today: int
    abandoned_today: int
    service_level_today: float | None
    service_level_last_30_minutes: float | None


@dataclass(frozen=True)
class AgentNow:
    """One row of `Realtime.agents`: the agent's row and what they do now."""

    row: Any
    activity: str | None
    activity_since: datetime | None
    active_tasks: int
    queues: list[str]


@dataclass(frozen=True)
class AgentConditions:
    """The set parts of `RealtimeAgentFilter`: operator inputs per attribute (or None)."""

    agent_id: Any = None
    activity: Any = None
    queue: Any = None


def start_of_day(instant: datetime, ctx: Context) -> tuple[datetime, datetime]:
    """Today in the workspace time zone, as a half-open UTC range (23 or 25 hours on DST days)."""
    tz = ctx.options.timezone
    local = instant.astimezone(tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    following = midnight.date() + timedelta(days=1)
    next_midnight = datetime(following.year, following.month, following.day, tzinfo=tz)
    return midnight.astimezone(UTC), next_midnight.astimezone(UTC)


def now(ctx: Context) -> datetime:
    """The picture's instant: the clock, to the whole second (the warehouse's precision)."""
    return datetime.fromtimestamp(int(ctx.options.clock()), tz=UTC)


SINCE = bindparam("rt_window_start", type_=seg.c.started_at.type)
"""The start of the serving window (`as_of - SERVING_WINDOW`): the one value the picture's
statements are executed with. A live picture runs the same few statements on every change and
building them cost more Python than executing them, so those without a client's filter are built
once per viewer (and activity names: the `lru_cache`d builders below)."""


def _served(viewer: Viewer) -> Any:
    """(agent, queue) pairs: the queues each visible agent served in the window, as a subquery."""
    return (
        select(seg.c.agent_id, seg.c.queue)
        .where(
            seg.c.kind.in_(OFFERED),
            seg.c.started_at >= SINCE,
            seg.c.agent_id.is_not(None),
            seg.c.queue.is_not(None),
            visible_segments(viewer),
            seg.c.agent_id.in_(select(t.agents.c.agent_id).where(visible(viewer, "Agent"))),
        )
        .distinct()
        .subquery("served")
    )


def _current_status() -> Any:
    """Each agent's open status segment (the latest, should there be several), as a subquery."""
    rank = (
        func.row_number()
        .over(partition_by=seg.c.agent_id, order_by=(seg.c.started_at.desc(), seg.c.segment_id))
        .label("rank")
    )
    ranked = (
        select(seg.c.agent_id, seg.c.activity, seg.c.started_at, rank)
        .where(seg.c.kind == STATUS_IN_PROGRESS, seg.c.agent_id.is_not(None))
        .subquery("ranked")
    )
    return (
        select(ranked.c.agent_id, ranked.c.activity, ranked.c.started_at)
        .where(ranked.c.rank == 1)
        .subquery("status")
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _names_statement(viewer: Viewer) -> tuple[Any, Any]:
    """The visible queues' names (unordered, unfiltered) and the column to filter and order by."""
    if viewer.is_admin:
        return select(t.queues.c.name), t.queues.c.name
    served = _served(viewer)
    return select(served.c.queue).distinct(), served.c.queue


@functools.lru_cache(maxsize=1024)
def _ordered_names_statement(viewer: Viewer) -> Any:
    statement, column = _names_statement(viewer)
    return statement.order_by(column)


@functools.lru_cache(maxsize=1024)
def _work_statement(viewer: Viewer) -> Any:
    waiting = and_(
        seg.c.kind == "QUEUE",
        seg.c.queue_time.is_(None),
        seg.c.abandoned == "NO",
        seg.c.started_at >= SINCE,
    )
    mine = and_(seg.c.kind == IN_PROGRESS, visible_segments(viewer))
    return (
        select(
            seg.c.queue,
            _count_if(waiting),
            func.min(case((waiting, seg.c.started_at))),
            _count_if(and_(mine, seg.c.talk_time.is_(None))),
            _count_if(and_(mine, seg.c.talk_time.is_not(None))),
        )
        .where(
            seg.c.queue.is_not(None),
            or_(
                and_(seg.c.kind == "QUEUE", seg.c.queue_time.is_(None)),
                seg.c.kind == IN_PROGRESS,
            ),
        )
        .group_by(seg.c.queue)
    )


@functools.lru_cache(maxsize=1024)
def _agent_states_statement(viewer: Viewer, available_activity: str, offline_activity: str) -> Any:
    served = _served(viewer)
    status = _current_status()
    activity = status.c.activity
    offline = or_(activity.is_(None), activity == offline_activity)
    available = and_(activity == available_activity, ~offline)
    return (
        select(
            served.c.queue,
            _count_if(available),
            _count_if(and_(~offline, ~available)),
            _count_if(offline),
        )
        .select_from(served.outerjoin(status, status.c.agent_id == served.c.agent_id))
        .group_by(served.c.queue)
    )


@functools.lru_cache(maxsize=1024)
def _pairs_statement(viewer: Viewer) -> Any:
    served = _served(viewer)
    return select(served.c.agent_id, served.c.queue).order_by(served.c.agent_id, served.c.queue)


PICTURE_STATEMENTS = (
    _ordered_names_statement,
    _work_statement,
    _agent_states_statement,
    _pairs_statement,
)
"""The builders whose statements are kept per viewer (their caches, for tests)."""


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


Part = Callable[["Picture"], Awaitable[Any]]
"""How a picture computes one of its parts (given the picture, so another picture can too)."""

AS_OF = "as of"
"""The key under which `Reads` notes that a result showed the picture's instant."""

Reads = dict[Any, Part | None]
"""The parts one execution read, by key (and `AS_OF` if it showed the instant)."""

_reads: ContextVar[Reads | None] = ContextVar("realtime_reads", default=None)


def note_reads(reads: Reads) -> None:
    """Note in `reads` the parts that pictures are asked for from here on, in this task and the
    tasks it starts (a live subscription calls it before each execution of its document)."""
    _reads.set(reads)


class Picture:
    """The picture at one instant for one viewer; each part is computed once, when first read.

    `queues` and `agents` of one document share the parts both need (the served pairs), and so
    do all the documents that read one picture (live subscriptions share it per change, see
    `picture`): each part covers every queue the viewer sees, whatever a document's filter keeps.
    """

    def __init__(self, ctx: Context, viewer: Viewer, as_of: datetime) -> None:
        self.ctx = ctx
        self.viewer = viewer
        self._as_of = as_of
        self._parts: dict[Any, asyncio.Future[Any]] = {}

    @property
    def as_of(self) -> datetime:
        """The picture's instant (what reads it for a result is noted: `shows_as`)."""
        reads = _reads.get()
        if reads is not None:
            reads[AS_OF] = None
        return self._as_of

    async def _once(self, key: Any, make: Part) -> Any:
        reads = _reads.get()
        if reads is not None:
            reads[key] = make
        if key not in self._parts:
            self._parts[key] = asyncio.ensure_future(make(self))
        return await asyncio.shield(self._parts[key])

    async def shows_as(self, earlier: Picture, reads: Reads) -> bool:
        """Whether every part in `reads` (what a result of `earlier` read) is the same in this
        picture: then that result is this picture's too, and executing the document again would
        only reproduce it. The parts are computed here as a document would (shared per change,
        so they cost the statements of this picture once, whoever asks first)."""
        for key, make in reads.items():
            if make is None:  # the instant itself was shown
                if self._as_of != earlier._as_of:
                    return False
                continue
            before = earlier._parts.get(key)
            if before is None or not before.done() or before.cancelled() or before.exception():
                return False
            try:
                value = await self._once(key, make)
            except Exception:  # the document's execution reports it, as a field error
                return False
            if value != before.result():
                return False
        return True

    # --- queues ------------------------------------------------------------------------------

    async def queues(self, queue_filter: Any) -> list[QueueNumbers]:
        """One row per visible queue matching the filter (operators on the queue name)."""
        # inputs are dataclasses: equal filters print alike, so their names are read once
        names = await self._once(
            ("names", repr(queue_filter)), lambda p: p._queue_names(queue_filter)
        )
        if not names:
            return []
        work, agents, today, recent = await asyncio.gather(
            self._once("work", Picture._work),
            self._once("agent states", Picture._agent_states),
            self._once("today", Picture._today),
            self._once("last 30 minutes", Picture._last_30_minutes),
        )
        rows = []
        for name in names:
            waiting, oldest, active, wrapping = work.get(name, (0, None, 0, 0))
            available, unavailable, offline = agents.get(name, (0, 0, 0))
            values = today.get((name,), {})
            since = _seconds(oldest)
            rows.append(
                QueueNumbers(
                    queue=name,
                    waiting_tasks=int(waiting),
                    longest_wait=max(0, _seconds(self.as_of) - since)  # type: ignore[operator]
                    if since is not None and waiting
                    else None,
                    active_tasks=int(active),
                    wrapping_tasks=int(wrapping),
                    agents_available=int(available),
                    agents_unavailable=int(unavailable),
                    agents_offline=int(offline),
                    handled_today=int(values.get("handledToday", 0)),
                    abandoned_today=int(values.get("abandonedToday", 0)),
                    service_level_today=values.get("serviceLevelToday"),
                    service_level_last_30_minutes=recent.get((name,), {}).get("serviceLevel"),
                )
            )
        return rows

    async def _queue_names(self, queue_filter: Any) -> list[str]:
        if queue_filter is None:
            statement = _ordered_names_statement(self.viewer)
        else:
            statement, column = _names_statement(self.viewer)
            condition = compile_attribute(
                self.viewer, ENTITIES["Queue"], "name", queue_filter, column
            )
            statement = statement.where(condition).order_by(column)
        return [r[0] for r in await self._rows(statement)]

    async def _rows(self, statement: Any) -> list[tuple[Any, ...]]:
        """The statement's rows, the serving window's start bound (unused parameters are not)."""
        return [tuple(row.values()) for row in await run(self.ctx, statement, self._window())]

    def _window(self) -> dict[str, Any]:
        """The value of `SINCE` for this picture."""
        return {SINCE.key: self._as_of - SERVING_WINDOW}

    async def _work(self) -> dict[str, tuple[Any, ...]]:
        """Per queue: waiting tasks and the oldest wait (queue-wide), accepted and wrapping ones.

        Every queue has a row (a queue's waiting tasks are shown whole; the accepted and wrapping
        ones count visible segments only); `queues` keeps the rows of the queues the viewer sees.
        """
        return {r[0]: tuple(r[1:]) for r in await self._rows(_work_statement(self.viewer))}

    async def _agent_states(self) -> dict[str, tuple[int, int, int]]:
        """Per served queue: its serving agents, available, in another activity, offline."""
        thresholds: Thresholds = self.ctx.options.thresholds
        statement = _agent_states_statement(
            self.viewer,
            thresholds.available_activity,
            thresholds.offline_activity,
        )
        return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in await self._rows(statement)}

    def _selected(self, names: dict[str, str]) -> list[Selected]:
        thresholds = self.ctx.options.thresholds
        return [Selected(key, BY_NAME[metric], thresholds) for key, metric in names.items()]

    async def _today(self) -> dict[Any, Values]:
        start, end = start_of_day(self._as_of, self.ctx)
        return await self._metrics(self._selected(TODAY), start, end)

    async def _last_30_minutes(self) -> dict[Any, Values]:
        start = self._as_of - timedelta(minutes=30)
        selected = self._selected({"serviceLevel": "serviceLevel"})
        return await self._metrics(selected, start, self._as_of + timedelta(seconds=1))

    async def _metrics(
        self, selected: list[Selected], start: datetime, end: datetime
    ) -> dict[Any, Values]:
        """The catalog's metrics by queue over `[start, end)`, exactly as `report` computes them."""
        # the scope carries the viewer: the metric code reads it from there, not from the context
        scope = metric_scope(self.viewer, start, end, None, self.ctx.options.timezone)
        with urgent_reads():  # every live subscriber of the change waits for it: not niced
            return await grouped(self.ctx, [Dimension.QUEUE], selected, scope)

    # --- agents ------------------------------------------------------------------------------

    async def agents(self, conditions: AgentConditions) -> list[AgentNow]:
        """The visible agents matching the filter, by agent id, with what they do now."""
        rows, pairs = await asyncio.gather(
            self._once(("agents", repr(conditions)), lambda p: p._agent_rows(conditions)),
            self._pairs(),
        )
        queues: dict[str, list[str]] = {}
        for agent_id, queue in pairs:
            queues.setdefault(agent_id, []).append(queue)
        return [
            AgentNow(
                row=row,
                activity=row["rt_activity"],
                activity_since=row["rt_since"],
                active_tasks=int(row["rt_active"]),
                queues=queues.get(row["agent_id"], []),
            )
            for row in rows
        ]

    async def _pairs(self) -> list[tuple[str, str]]:
        return await self._once("pairs", Picture._load_pairs)  # type: ignore[no-any-return]

    async def _load_pairs(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in await self._rows(_pairs_statement(self.viewer))]

    async def _agent_rows(self, conditions: AgentConditions) -> list[Any]:
        agents = t.agents
        status = _current_status()
        active = (
            select(func.count())
            .where(seg.c.agent_id == agents.c.agent_id, seg.c.kind == IN_PROGRESS)
            .scalar_subquery()
        )
        where: list[ColumnElement[bool]] = [
            visible(self.viewer, "Agent"),
            agents.c.state.is_distinct_from("Deleted"),
        ]
        if conditions.agent_id is not None:
            where.append(
                compile_attribute(self.viewer, ENTITIES["Agent"], "agent_id", conditions.agent_id)
            )
        if conditions.activity is not None:
            where.append(
                compile_attribute(
                    self.viewer, SEGMENT, "activity", conditions.activity, status.c.activity
                )
            )
        if conditions.queue is not None:
            served = _served(self.viewer)
            where.append(
                agents.c.agent_id.in_(
                    select(served.c.agent_id).where(
                        compile_attribute(
                            self.viewer, SEGMENT, "queue", conditions.queue, served.c.queue
                        )
                    )
                )
            )
        statement = (
            select(
                *agents.columns,
                status.c.activity.label("rt_activity"),
                status.c.started_at.label("rt_since"),
                cast(active, Integer).label("rt_active"),
            )
            .select_from(agents.outerjoin(status, status.c.agent_id == agents.c.agent_id))
            .where(and_(*where))
            .order_by(agents.c.agent_id)
        )
        return list(await run(self.ctx, statement, self._window()))


@dataclass
class PictureCache:
    """Pictures by instant and viewer within one request (a document may name `realtime` twice)."""

    pictures: dict[tuple[datetime, Viewer], Picture] = field(default_factory=dict)


def picture(ctx: Context, viewer: Viewer) -> Picture:
    """The picture for `viewer` now, shared by the fields of one request (a document may name
    `realtime` twice). Live subscriptions read theirs from `resolvers/live_pictures.py`."""
    instant = now(ctx)
    cache = ctx.loader("realtime-pictures", PictureCache)
    key = (instant, viewer)
    if key not in cache.pictures:
        cache.pictures[key] = Picture(ctx, viewer, instant)
    return cache.pictures[key]
