"""TaskRouter ingest: store events, rebuild what they touch, all in one short transaction per batch.

A batch stores its new events (a re-delivery is skipped by its dedup key) and its dead letters,
then rebuilds the segments, conversation, customer, case hierarchy and workload slices of every
task it touched from all stored events of those tasks, and the agents, teams, status segments and
team history of every worker it touched. Because a task is always rebuilt from its stored events,
the result does not depend on arrival order, and a batch that crashed before committing is simply
applied again when the file is re-run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from warehouse import derive
from warehouse import tables as t
from warehouse.bulk import chunks, insert_ignore, replace, upsert
from warehouse.changes import announce
from warehouse.ingest_tables import dead_letters, events, open_statuses, worker_teams
from warehouse.taskrouter import (
    RESERVATION_EVENTS,
    TASK_EVENTS,
    WORKER_EVENTS,
    EventError,
    TaskRouterEvent,
    event_from_payload,
    parse_text,
)
from warehouse.workload import slice_segment_row

Row = dict[str, Any]
DEFAULT_BATCH = 5000
MAX_PROBLEMS = 1000  # rejects described in memory per run; all of them are in `dead_letters`


@dataclass(frozen=True)
class RawEvent:
    """One event as received: its JSON text and where it came from (file and line, or HTTP)."""

    text: str
    source: str
    line: int | None = None


@dataclass
class IngestCounts:
    """What happened to the events of a run; `ignored` covers re-deliveries and unused types."""

    read: int = 0
    applied: int = 0
    ignored: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: IngestCounts) -> None:
        self.read += other.read
        self.applied += other.applied
        self.ignored += other.ignored
        self.rejected += other.rejected
        self.problems += other.problems[: MAX_PROBLEMS - len(self.problems)]

    def summary(self) -> str:
        return (
            f"{self.read:,} events read, {self.applied:,} applied, {self.ignored:,} ignored, "
            f"{self.rejected:,} rejected"
        )


def _handling_values() -> dict[str, ColumnElement[Any]]:
    """SET clauses giving each segment its agent's team and department at handling time."""
    seg, wt = t.segments, worker_teams

    def step(column: Any) -> Any:
        return (
            select(column)
            .where(wt.c.worker_sid == seg.c.agent_id, wt.c.since <= seg.c.started_at)
            .order_by(wt.c.since.desc())
            .limit(1)
            .scalar_subquery()
        )

    team = case(
        (seg.c.agent_id.is_(None), None), else_=func.coalesce(step(wt.c.team_id), seg.c.queue)
    )
    return {"handling_team_id": team, "handling_department_id": step(wt.c.department_id)}


class Ingestor:
    """Applies batches of raw events to one warehouse."""

    def __init__(self, engine: AsyncEngine, tz: ZoneInfo, batch_size: int = DEFAULT_BATCH) -> None:
        self.engine = engine
        self.tz = tz
        self.batch_size = batch_size

    async def ingest(self, raw: Iterable[RawEvent]) -> AsyncIterator[IngestCounts]:
        """Apply `raw` in batches, yielding each batch's counts once it is committed."""
        batch: list[RawEvent] = []
        for item in raw:
            batch.append(item)
            if len(batch) >= self.batch_size:
                yield await self.apply(batch)
                batch = []
        if batch:
            yield await self.apply(batch)

    async def apply(self, raw: Sequence[RawEvent]) -> IngestCounts:
        """Store one batch and rebuild what it touches, in one transaction."""
        counts = IngestCounts(read=len(raw))
        now = int(time.time())
        letters: list[Row] = []
        parsed: dict[str, tuple[TaskRouterEvent, RawEvent, str]] = {}
        for item in raw:
            try:
                event, payload = parse_text(item.text)
            except EventError as error:
                counts.rejected += 1
                where = f"{item.source}:{item.line}" if item.line is not None else item.source
                counts.problems.append(f"{where}: {error}")
                letters.append(_dead_letter(item, str(error), now))
                continue
            if not event.known or event.dedup_key in parsed:
                counts.ignored += 1
                continue
            parsed[event.dedup_key] = (event, item, payload)
        async with self.engine.begin() as conn:
            await insert_ignore(conn, dead_letters, letters)
            stored: set[str] = set()
            for keys in chunks(parsed):
                found = await conn.execute(
                    select(events.c.dedup_key).where(events.c.dedup_key.in_(keys))
                )
                stored.update(found.scalars())
            new = {k: v for k, v in parsed.items() if k not in stored}
            counts.ignored += len(parsed) - len(new)
            counts.applied = len(new)
            await insert_ignore(conn, events, [_event_row(*v, now) for v in new.values()])
            fresh = {k: e for k, (e, _, _) in new.items()}
            await self._rebuild(conn, fresh)
            await announce(conn)  # live subscriptions recompute once this commits
        return counts

    async def reject(self, raw: RawEvent, reason: str) -> IngestCounts:
        """File something that is not even a list of events (an unreadable HTTP body)."""
        async with self.engine.begin() as conn:
            await insert_ignore(conn, dead_letters, [_dead_letter(raw, reason, int(time.time()))])
        return IngestCounts(read=1, rejected=1, problems=[f"{raw.source}: {reason}"])

    async def _rebuild(self, conn: AsyncConnection, fresh: dict[str, TaskRouterEvent]) -> None:
        task_sids = {
            e.task_sid
            for e in fresh.values()
            if e.task_sid and e.event_type in TASK_EVENTS | RESERVATION_EVENTS
        }
        worker_events = [e for e in fresh.values() if e.event_type in WORKER_EVENTS]
        slices_touched: set[tuple[str, int]] = set()
        new_segments: list[Row] = []
        if worker_events:
            new_segments += await self._workers(conn, worker_events, slices_touched)
        if task_sids:
            new_segments += await self._tasks(conn, task_sids, fresh, slices_touched)
        slices = [s for row in new_segments for s in slice_segment_row(row, self.tz)]
        for chunk in chunks(slices):
            await conn.execute(t.workload.insert(), chunk)
        slices_touched.update((s["agent_id"], s["interval_start"]) for s in slices if s["agent_id"])
        await self._parallel(conn, slices_touched)
        await _drop_unused_queue_teams(conn)

    # --- workers -------------------------------------------------------------------------------

    async def _workers(
        self, conn: AsyncConnection, batch: list[TaskRouterEvent], touched: set[tuple[str, int]]
    ) -> list[Row]:
        by_worker: dict[str, list[TaskRouterEvent]] = defaultdict(list)
        for event in batch:
            by_worker[str(event.worker_sid)].append(event)
        workers = sorted(by_worker)
        steps = [
            {
                "worker_sid": w,
                "since": s.since,
                "team_id": s.team_id,
                "department_id": s.department_id,
            }
            for w, evs in by_worker.items()
            for s in map(derive.team_step, evs)
            if s is not None
        ]
        changing = await _changing_steps(conn, steps)
        await insert_ignore(conn, worker_teams, steps)
        names = {
            w: next((e.worker_name for e in evs if e.worker_name), None)
            for w, evs in by_worker.items()
        }
        await insert_ignore(
            conn, t.agents, [{"agent_id": w, "full_name": n} for w, n in sorted(names.items())]
        )
        await self._agents(conn, workers)

        rows: list[Row] = []
        open_rows: list[Row] = []
        for worker, evs in by_worker.items():
            closed, _ = derive.status_segments(worker, evs, self.tz)
            rows += closed
        latest = await _latest(conn, workers, ("worker.activity.update", "worker.created"))
        for worker, event in latest.items():
            _, open_row = derive.status_segments(worker, [event], self.tz)
            if open_row is not None:
                open_rows.append(open_row)
        closed_ids = {r["segment_id"] for r in rows}
        open_rows = [r for r in open_rows if r["segment_id"] not in closed_ids]
        replaced = list(closed_ids)
        seg = t.segments
        for chunk in chunks(workers):
            replaced += (
                await conn.execute(
                    select(open_statuses.c.segment_id).where(open_statuses.c.worker_sid.in_(chunk))
                )
            ).scalars()
            await conn.execute(open_statuses.delete().where(open_statuses.c.worker_sid.in_(chunk)))
        await self._delete_segments(conn, replaced, touched)
        fresh = rows + open_rows
        for chunk in chunks(fresh):
            await conn.execute(seg.insert(), chunk)
        if open_rows:
            await conn.execute(
                open_statuses.insert(),
                [{"worker_sid": r["agent_id"], "segment_id": r["segment_id"]} for r in open_rows],
            )
        for chunk in chunks([r["segment_id"] for r in fresh]):
            await self._refresh_handling(conn, seg.c.segment_id.in_(chunk))
        # a team change reaches the worker's segments from its moment to the next change
        for step in changing:
            later = (
                select(func.min(worker_teams.c.since))
                .where(
                    worker_teams.c.worker_sid == step["worker_sid"],
                    worker_teams.c.since > step["since"],
                )
                .scalar_subquery()
            )
            await self._refresh_handling(
                conn,
                and_(
                    seg.c.agent_id == step["worker_sid"],
                    seg.c.started_at >= step["since"],
                    func.coalesce(later, 2**62) > seg.c.started_at,
                ),
            )
        return fresh

    async def _agents(self, conn: AsyncConnection, workers: list[str]) -> None:
        latest = await _latest(conn, workers, tuple(WORKER_EVENTS), attributes_only=True)
        deleted: set[str] = set()
        for chunk in chunks(workers):
            found = await conn.execute(
                select(events.c.worker_sid)
                .where(events.c.worker_sid.in_(chunk), events.c.event_type == "worker.deleted")
                .distinct()
            )
            deleted.update(found.scalars())
        agents, teams, departments = [], [], []
        for worker, event in latest.items():
            agent, team, department = derive.agent_rows(event, worker in deleted)
            agents.append(agent)
            if team:
                teams.append(team)
            if department:
                departments.append(department)
        await upsert(conn, t.departments, departments)
        await upsert(conn, t.teams, teams)
        full = {c.name: None for c in t.agents.columns}
        await replace(conn, t.agents, [full | a for a in agents])
        if deleted - set(latest):
            await conn.execute(
                t.agents.update()
                .where(t.agents.c.agent_id.in_(sorted(deleted - set(latest))))
                .values(state="Deleted")
            )

    # --- tasks ---------------------------------------------------------------------------------

    async def _tasks(
        self,
        conn: AsyncConnection,
        task_sids: set[str],
        fresh: dict[str, TaskRouterEvent],
        touched: set[tuple[str, int]],
    ) -> list[Row]:
        by_task: dict[str, list[TaskRouterEvent]] = defaultdict(list)
        for chunk in chunks(sorted(task_sids)):
            result = await conn.execute(
                select(events.c.dedup_key, events.c.task_sid, events.c.payload).where(
                    events.c.task_sid.in_(chunk)
                )
            )
            for key, task_sid, payload in result:
                event = fresh.get(key) or event_from_payload(json.loads(payload))
                if event.event_type in TASK_EVENTS | RESERVATION_EVENTS:
                    by_task[task_sid].append(event)
        derived = [derive.derive_task(sid, evs, self.tz) for sid, evs in sorted(by_task.items())]

        stubs = {w: n for d in derived for w, n in d.agents.items()}
        await insert_ignore(
            conn,
            t.agents,
            [{"agent_id": w, "full_name": n} for w, n in sorted(stubs.items())],
        )
        await upsert(conn, t.initiatives, [d.initiative for d in derived if d.initiative])
        await upsert(conn, t.projects, [d.project for d in derived if d.project])
        await upsert(conn, t.campaigns, [d.campaign for d in derived if d.campaign])
        await upsert(conn, t.cases, [d.case for d in derived if d.case])
        await upsert(conn, t.customers, [d.customer for d in derived if d.customer])
        await upsert(conn, t.conversations, [d.conversation for d in derived if d.conversation])
        segments = [row for d in derived for row in d.segments]
        queues = sorted({r["queue"] for r in segments if r["queue"]})
        await insert_ignore(conn, t.queues, [{"name": q} for q in queues])

        seg = t.segments
        old: list[str] = []
        for chunk in chunks(sorted(task_sids)):
            old += (
                await conn.execute(select(seg.c.segment_id).where(seg.c.external_id.in_(chunk)))
            ).scalars()
        await self._delete_segments(conn, old, touched)
        for chunk in chunks(segments):  # in task order: a segment follows its predecessor
            await conn.execute(seg.insert(), chunk)
        for chunk in chunks(sorted(task_sids)):
            await self._refresh_handling(conn, seg.c.external_id.in_(chunk))
        conversation_ids = sorted(
            {d.conversation["conversation_id"] for d in derived if d.conversation}
        )
        await _conversation_times(conn, conversation_ids)
        await _conversation_chains(conn, conversation_ids)
        return segments

    # --- shared --------------------------------------------------------------------------------

    async def _delete_segments(
        self, conn: AsyncConnection, ids: list[str], touched: set[tuple[str, int]]
    ) -> None:
        """Delete segments and their slices, remembering which agent quarter hours lost some."""
        w = t.workload
        for chunk in chunks(ids):
            result = await conn.execute(
                select(w.c.agent_id, w.c.interval_start).where(
                    w.c.segment_id.in_(chunk), w.c.agent_id.is_not(None)
                )
            )
            touched.update((a, int(q.timestamp())) for a, q in result)
            await conn.execute(w.delete().where(w.c.segment_id.in_(chunk)))
            await conn.execute(t.segments.delete().where(t.segments.c.segment_id.in_(chunk)))

    async def _refresh_handling(self, conn: AsyncConnection, where: ColumnElement[bool]) -> None:
        """Set the handling team of the segments matching `where` from the team history.

        A worker without a team works for the queue's team, which is created on first use.
        """
        seg = t.segments
        values = _handling_values()
        missing = (
            select(seg.c.queue, seg.c.queue)
            .where(
                where,
                seg.c.agent_id.is_not(None),
                seg.c.queue.is_not(None),
                values["handling_team_id"] == seg.c.queue,
                seg.c.queue.not_in(select(t.teams.c.team_id)),
            )
            .distinct()
        )
        await conn.execute(t.teams.insert().from_select(["team_id", "name"], missing))
        await conn.execute(seg.update().where(where).values(values))

    async def _parallel(self, conn: AsyncConnection, touched: set[tuple[str, int]]) -> None:
        """Recount `parallel_conversations` of every slice in the agent quarter hours touched.

        A conversation has a slice in exactly the quarter hours its busy interval overlaps (see
        `slice_segment`), so the count is the agent's conversation slices in that quarter hour:
        one index lookup, where counting overlapping segments would scan the agent's history.
        """
        if not touched:
            return
        w = t.workload
        other = t.workload.alias("other")
        count = (
            select(func.count())
            .where(
                other.c.agent_id == w.c.agent_id,
                other.c.interval_start == w.c.interval_start,
                other.c.kind == "CONVERSATION",
            )
            .scalar_subquery()
        )
        stmt = (
            w.update()
            .where(w.c.agent_id == bindparam("agent"), w.c.interval_start == bindparam("quarter"))
            .values(parallel_conversations=count)
        )
        await conn.execute(stmt, [{"agent": a, "quarter": q} for a, q in sorted(touched)])


async def _latest(
    conn: AsyncConnection,
    workers: list[str],
    types: tuple[str, ...],
    *,
    attributes_only: bool = False,
) -> dict[str, TaskRouterEvent]:
    """Each worker's latest stored event of `types`, in one windowed statement per chunk."""
    e = events
    rank = (
        func.row_number()
        .over(partition_by=e.c.worker_sid, order_by=(e.c.timestamp_ms.desc(), e.c.dedup_key.desc()))
        .label("rank")
    )
    found: dict[str, TaskRouterEvent] = {}
    for chunk in chunks(workers):
        conditions = [e.c.worker_sid.in_(chunk), e.c.event_type.in_(types)]
        if attributes_only:
            conditions.append(e.c.has_worker_attributes.is_(True))
        ranked = select(e.c.worker_sid, e.c.payload, rank).where(*conditions).subquery()
        result = await conn.execute(
            select(ranked.c.worker_sid, ranked.c.payload).where(ranked.c.rank == 1)
        )
        for worker, payload in result:
            found[worker] = event_from_payload(json.loads(payload))
    return found


async def _changing_steps(conn: AsyncConnection, steps: list[Row]) -> list[Row]:
    """The new team steps that change a worker's team from what was in force at their moment.

    The stored steps hold no step between a new one and the next, so over that span the old
    value was the step in force at its moment: where it is equal, no segment changes. Every step
    is stored anyway, because a step that is redundant now may matter once an earlier one
    arrives out of order.
    """
    wt = worker_teams
    changing = []
    for step in steps:
        before = (
            await conn.execute(
                select(wt.c.since, wt.c.team_id, wt.c.department_id)
                .where(wt.c.worker_sid == step["worker_sid"], wt.c.since <= step["since"])
                .order_by(wt.c.since.desc())
                .limit(1)
            )
        ).first()
        if before is None or (
            before.since != step["since"]
            and (before.team_id, before.department_id) != (step["team_id"], step["department_id"])
        ):
            changing.append(step)
    return changing


async def _drop_unused_queue_teams(conn: AsyncConnection) -> None:
    """Remove stand-in queue teams nobody uses any more (the worker's real team arrived later)."""
    teams, seg, agents = t.teams, t.segments, t.agents
    await conn.execute(
        teams.delete().where(
            teams.c.team_id.in_(select(t.queues.c.name)),
            teams.c.name == teams.c.team_id,
            teams.c.department_id.is_(None),
            teams.c.name_in_hierarchy.is_(None),
            ~select(seg.c.segment_id).where(seg.c.handling_team_id == teams.c.team_id).exists(),
            ~select(agents.c.agent_id).where(agents.c.team_id == teams.c.team_id).exists(),
        )
    )


async def _conversation_times(conn: AsyncConnection, ids: list[str]) -> None:
    """A conversation spans its segments: first start to the last end of talk and wrap-up."""
    c, s = t.conversations, t.segments.alias("s")
    ends = s.c.started_at + func.coalesce(s.c.talk_time, 0) + func.coalesce(s.c.wrap_up_time, 0)
    first = select(func.min(s.c.started_at)).where(s.c.conversation_id == c.c.conversation_id)
    last = select(func.max(ends)).where(s.c.conversation_id == c.c.conversation_id)
    for chunk in chunks(ids):
        await conn.execute(
            c.update()
            .where(c.c.conversation_id.in_(chunk))
            .values(started_at=first.scalar_subquery(), ended_at=last.scalar_subquery())
        )


async def _conversation_chains(conn: AsyncConnection, ids: list[str]) -> None:
    """Link each segment to the one before it in its conversation, across tasks (a transfer's
    second leg is a task of its own): `precededBy` in `(startedAt, segmentId)` order."""
    s = t.segments
    change = (
        s.update()
        .where(s.c.segment_id == bindparam("sid"))
        .values(preceded_by_id=bindparam("previous"))
    )
    for chunk in chunks(ids):
        found = await conn.execute(
            select(s.c.conversation_id, s.c.segment_id, s.c.preceded_by_id)
            .where(s.c.conversation_id.in_(chunk))
            .order_by(s.c.conversation_id, s.c.started_at, s.c.segment_id)
        )
        updates: list[dict[str, Any]] = []
        previous: tuple[str, str] | None = None
        for conversation_id, segment_id, linked in found:
            before = previous[1] if previous and previous[0] == conversation_id else None
            if linked != before:
                updates.append({"sid": segment_id, "previous": before})
            previous = (conversation_id, segment_id)
        if updates:
            await conn.execute(change, updates)


def _event_row(event: TaskRouterEvent, raw: RawEvent, payload: str, now: int) -> Row:
    return {
        "dedup_key": event.dedup_key,
        "event_type": event.event_type,
        "task_sid": event.task_sid,
        # only worker events: the worker index then holds a worker's history, not every call
        "worker_sid": event.worker_sid if event.event_type in WORKER_EVENTS else None,
        "timestamp_ms": event.timestamp_ms,
        "has_worker_attributes": event.worker_attributes is not None
        and event.event_type in WORKER_EVENTS,
        "payload": payload,
        "source": raw.source,
        "line": raw.line,
        "received_at": now,
    }


def _dead_letter(raw: RawEvent, reason: str, now: int) -> Row:
    digest = hashlib.sha256(f"{raw.source}\0{raw.line}\0{raw.text}".encode()).hexdigest()
    return {
        "fingerprint": digest,
        "source": raw.source,
        "line": raw.line,
        "raw": raw.text,
        "reason": reason,
        "received_at": now,
    }


def read_lines(stream: Iterable[str], source: str) -> Iterator[RawEvent]:
    """Non-blank lines of a JSON Lines stream, numbered from 1 as an editor shows them."""
    for number, text in enumerate(stream, 1):
        stripped = text.strip()
        if stripped:
            yield RawEvent(stripped, source, number)
