"""TaskRouter ingest: store events, rebuild what they touch, all in one short transaction per batch.

A batch stores its new events (a re-delivery is skipped by its dedup key) and its dead letters,
then rebuilds the segments, conversation, customer, case hierarchy and workload slices of every
task it touched from all stored events of those tasks, and the agents, teams, status segments and
team history of every worker it touched. Because a task is always rebuilt from its stored events,
the result does not depend on arrival order, and a batch that crashed before committing is simply
applied again when the file is re-run.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, case, func, or_, select, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from warehouse import derive
from warehouse import tables as t
from warehouse.bulk import chunks, insert_for, insert_ignore, replace, upsert
from warehouse.changes import announce
from warehouse.ingest_tables import (
    dead_letters,
    events,
    open_statuses,
    worker_attributes,
    worker_teams,
)
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
DATA_ERRORS = (StatementError, ValueError, TypeError, ArithmeticError, LookupError)
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


@dataclass(frozen=True)
class Accepted:
    """A new event that parsed: the event, what was received and the payload to store."""

    event: TaskRouterEvent
    raw: RawEvent
    payload: str


@dataclass
class TaskPlan:
    """The tasks a batch touches, derived before anything is written."""

    task_sids: set[str] = field(default_factory=set)
    derived: list[derive.TaskRows] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # new event key -> reason
    evicted: list[Row] = field(default_factory=list)  # dead letters of stored events dropped
    evicted_keys: set[str] = field(default_factory=set)

    def evict(self, key: str, stored: Row, reason: str) -> None:
        """Drop a stored event that no longer derives, keeping it as a dead letter."""
        raw = RawEvent(stored["raw"], stored["source"] or "events", stored["line"])
        self.evicted.append(_dead_letter(raw, reason, int(time.time())))
        self.evicted_keys.add(key)


INGEST_LOCK = 0x1A5C_1E57  # pg_advisory_xact_lock key: one ingest transaction at a time


async def write_lock(conn: AsyncConnection) -> None:
    """Make the ingest transaction the database's only writer from its first statement on.

    A batch reads what is stored (its events' dedup keys, their tasks' events) and rebuilds
    from it, so two batches interleaving (two workers, two requests of one worker) would each
    rebuild a task from a set missing the other's event. SQLite: `BEGIN IMMEDIATE` takes the
    write lock before the reads (the driver's own BEGIN comes at the first write, and a savepoint
    would start a transaction after the reads); PostgreSQL: a transaction-scoped advisory lock.
    """
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK})


def _refuse(counts: IngestCounts, letters: list[Row], raw: RawEvent, reason: str, now: int) -> None:
    counts.rejected += 1
    counts.problems.append(f"{_where(raw)}: {reason}")
    letters.append(_dead_letter(raw, reason, now))


def _where(raw: RawEvent | Row) -> str:
    source, line = (
        (raw.source, raw.line) if isinstance(raw, RawEvent) else (raw["source"], raw["line"])
    )
    return f"{source}:{line}" if line is not None else str(source)


def _names_worker(event: TaskRouterEvent) -> bool:
    """Worker events, and reservations that carry the worker's attributes, describe an agent."""
    return event.event_type in WORKER_EVENTS or (
        event.event_type in RESERVATION_EVENTS and event.worker_attributes is not None
    )


def _is_data_error(error: Exception) -> bool:
    """A failure one event's data can cause (not a lost connection or a locked database)."""
    if isinstance(error, OperationalError | InterfaceError):
        return False
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return False
    return isinstance(
        error, StatementError | ValueError | TypeError | ArithmeticError | LookupError
    )


def _groups(accepted: dict[str, Accepted]) -> dict[str, dict[str, Accepted]]:
    """New events by what they rebuild together: their task, else their worker."""
    found: dict[str, dict[str, Accepted]] = defaultdict(dict)
    for key, item in accepted.items():
        event = item.event
        if event.event_type in WORKER_EVENTS:
            found[f"worker:{event.worker_sid}"][key] = item
        else:
            found[f"task:{event.task_sid}"][key] = item
    return found


@cache
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
        """Store one batch and rebuild what it touches, in one transaction.

        An event that cannot be understood, derived or stored is filed as a dead letter with its
        reason, together with the events of its task that cannot be applied without it;
        everything else in the batch is applied.
        """
        (outcome,) = await self.apply_each([raw])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def apply_each(
        self, batches: Sequence[Sequence[RawEvent]]
    ) -> list[IngestCounts | Exception]:
        """Several batches (HTTP requests) in one transaction: one lock, one commit, one
        announcement; each batch gets its own counts, as `apply` would give them.

        This is the one place batches commit. With more than one, each is applied in a savepoint
        of its own: a failure one batch's data causes beyond the per-event retries (`_apply_new`)
        undoes that batch alone and takes its counts' place; a lost connection or a locked
        database fails the transaction, so every batch (nothing of them stored).
        """
        now = int(time.time())
        prepared = [self._parse(raw, now) for raw in batches]
        outcomes: list[IngestCounts | Exception] = []
        async with self.engine.begin() as conn:
            await write_lock(conn)
            for counts, letters, parsed in prepared:
                if len(prepared) == 1:
                    await self._store(conn, counts, letters, parsed, now)
                    outcomes.append(counts)
                    continue
                try:
                    async with conn.begin_nested():
                        await self._store(conn, counts, letters, parsed, now)
                    outcomes.append(counts)
                except Exception as error:
                    if not _is_data_error(error):
                        raise
                    outcomes.append(error)
            await announce(conn)  # live subscriptions recompute once this commits
        return outcomes

    def _parse(
        self, raw: Sequence[RawEvent], now: int
    ) -> tuple[IngestCounts, list[Row], dict[str, Accepted]]:
        """A batch's counts so far, its dead letters so far and its new events by dedup key."""
        counts = IngestCounts(read=len(raw))
        letters: list[Row] = []
        parsed: dict[str, Accepted] = {}
        for item in raw:
            try:
                event, payload = parse_text(item.text)
            except EventError as error:
                _refuse(counts, letters, item, str(error), now)
                continue
            if not event.known or event.dedup_key in parsed:
                counts.ignored += 1
                continue
            parsed[event.dedup_key] = Accepted(event, item, payload)
        return counts, letters, parsed

    async def _store(
        self,
        conn: AsyncConnection,
        counts: IngestCounts,
        letters: list[Row],
        parsed: dict[str, Accepted],
        now: int,
    ) -> None:
        """Apply one parsed batch inside the caller's transaction, completing its counts."""
        stored: set[str] = set()
        for keys in chunks(parsed):
            found = await conn.execute(
                select(events.c.dedup_key).where(events.c.dedup_key.in_(keys))
            )
            stored.update(found.scalars())
        new = {k: v for k, v in parsed.items() if k not in stored}
        counts.ignored += len(parsed) - len(new)
        refused, evicted = await self._apply_new(conn, new, now)
        for key, reason in refused.items():
            _refuse(counts, letters, new[key].raw, reason, now)
        for letter in evicted:
            counts.problems.append(f"{_where(letter)}: stored earlier, now {letter['reason']}")
        counts.applied = len(new) - len(refused)
        await insert_ignore(conn, dead_letters, letters + evicted)

    async def reject(self, raw: RawEvent, reason: str) -> IngestCounts:
        """File something that is not even a list of events (an unreadable HTTP body)."""
        async with self.engine.begin() as conn:
            await insert_ignore(conn, dead_letters, [_dead_letter(raw, reason, int(time.time()))])
        return IngestCounts(read=1, rejected=1, problems=[f"{raw.source}: {reason}"])

    async def _apply_new(
        self, conn: AsyncConnection, new: dict[str, Accepted], now: int
    ) -> tuple[dict[str, str], list[Row]]:
        """Apply the new events that can be applied: (refused key -> reason, evicted letters).

        Rows are checked before they are written, so a write fails only on something no check
        foresaw; then each task and worker is written on its own (a savepoint each), and one that
        still fails is retried event by event, so the failure stays with the event that caused it.
        """
        refused: dict[str, str] = {}
        for key, item in new.items():
            if _names_worker(item.event):
                try:
                    derive.check_worker_event(item.event, self.tz)
                except Exception as error:  # whatever a bad event provokes is its reason
                    refused[key] = derive.why(error)
        plan = await self._plan_tasks(
            conn, {k: v.event for k, v in new.items() if k not in refused}
        )
        refused.update(plan.refused)
        accepted = {k: v for k, v in new.items() if k not in refused}
        try:
            async with conn.begin_nested():
                await self._write(conn, accepted, plan, now)
            return refused, plan.evicted
        except Exception as error:
            if not _is_data_error(error):
                raise
        evicted: list[Row] = []
        for group in _groups(accepted).values():
            refused_here, evicted_here = await self._write_alone(conn, group, now)
            refused.update(refused_here)
            evicted += evicted_here
        return refused, evicted

    async def _write_alone(
        self, conn: AsyncConnection, group: dict[str, Accepted], now: int
    ) -> tuple[dict[str, str], list[Row]]:
        """Write one task's (or worker's) new events; on failure, each event on its own."""
        refused: dict[str, str] = {}
        evicted: list[Row] = []
        for attempt in [group, *({k: v} for k, v in sorted(group.items()))]:
            if attempt is not group and not (attempt.keys() - refused.keys()):
                continue
            try:
                async with conn.begin_nested():
                    plan = await self._plan_tasks(conn, {k: v.event for k, v in attempt.items()})
                    usable = {k: v for k, v in attempt.items() if k not in plan.refused}
                    await self._write(conn, usable, plan, now)
            except Exception as error:
                if not _is_data_error(error):
                    raise
                if attempt is not group:
                    refused.update(
                        {k: f"could not be stored: {derive.why(error)}" for k in attempt}
                    )
                continue
            refused.update(plan.refused)
            evicted += plan.evicted
            if attempt is group:
                break
        return refused, evicted

    async def _write(
        self, conn: AsyncConnection, accepted: dict[str, Accepted], plan: TaskPlan, now: int
    ) -> None:
        for chunk in chunks(sorted(plan.evicted_keys)):
            await conn.execute(events.delete().where(events.c.dedup_key.in_(chunk)))
        await insert_ignore(conn, events, [_event_row(a, now) for a in accepted.values()])
        fresh = {k: a.event for k, a in accepted.items()}
        await self._rebuild(conn, fresh, plan)

    async def _plan_tasks(
        self, conn: AsyncConnection, fresh: dict[str, TaskRouterEvent]
    ) -> TaskPlan:
        """Derive every task the new events touch from its stored events and the new ones.

        Pure derivation, nothing written: the events that would break their task's rows are
        found here, before any of them reaches the database.
        """
        new_by_task: dict[str, list[derive.Keyed]] = defaultdict(list)
        for key, event in fresh.items():
            if event.task_sid and event.event_type in TASK_EVENTS | RESERVATION_EVENTS:
                new_by_task[event.task_sid].append((key, event))
        plan = TaskPlan()
        stored_by_task: dict[str, list[derive.Keyed]] = defaultdict(list)
        stored_rows: dict[str, Row] = {}
        e = events
        for chunk in chunks(sorted(new_by_task)):
            result = await conn.execute(
                select(e.c.dedup_key, e.c.task_sid, e.c.payload, e.c.source, e.c.line).where(
                    e.c.task_sid.in_(chunk)
                )
            )
            for key, task_sid, payload, source, line in result:
                if key in fresh:
                    continue
                stored_rows[key] = {"raw": payload, "source": source, "line": line}
                try:
                    event = event_from_payload(json.loads(payload))
                except (EventError, ValueError, RecursionError) as error:
                    plan.evict(key, stored_rows[key], str(error))
                    continue
                if event.event_type in TASK_EVENTS | RESERVATION_EVENTS:
                    stored_by_task[task_sid].append((key, event))
        for task_sid in sorted(new_by_task):
            checked = derive.derive_task_checked(
                task_sid, stored_by_task[task_sid], new_by_task[task_sid], self.tz
            )
            plan.task_sids.add(task_sid)
            if checked.rows is not None:
                plan.derived.append(checked.rows)
            plan.refused.update(checked.rejected)
            for key, reason in checked.evicted.items():
                plan.evict(key, stored_rows[key], reason)
        return plan

    async def _rebuild(
        self, conn: AsyncConnection, fresh: dict[str, TaskRouterEvent], plan: TaskPlan
    ) -> None:
        worker_events = [e for e in fresh.values() if e.event_type in WORKER_EVENTS]
        named = [e for e in fresh.values() if _names_worker(e)]
        slices_touched: set[tuple[str, int]] = set()
        new_segments: list[Row] = []
        handling_changed = bool(worker_events or named)
        if handling_changed:
            new_segments += await self._workers(conn, worker_events, named, slices_touched)
        if plan.task_sids:
            segments, handled = await self._tasks(conn, plan, slices_touched)
            new_segments += segments
            handling_changed = handling_changed or handled
        slices = [s for row in new_segments for s in slice_segment_row(row, self.tz)]
        for chunk in chunks(slices):
            await conn.execute(t.workload.insert(), chunk)
        slices_touched.update((s["agent_id"], s["interval_start"]) for s in slices if s["agent_id"])
        await self._parallel(conn, slices_touched)
        if handling_changed:  # only a handled segment or an agent can use a queue's stand-in team
            await _drop_unused_queue_teams(conn)

    # --- workers -------------------------------------------------------------------------------

    async def _workers(
        self,
        conn: AsyncConnection,
        batch: list[TaskRouterEvent],
        named: list[TaskRouterEvent],
        touched: set[tuple[str, int]],
    ) -> list[Row]:
        """Agents, team steps and status segments of the workers the batch's events describe.

        `batch` are the worker events (status changes come only from them); `named` every event
        carrying a worker's attributes, reservations included: the latest by event time names
        the agent, and each gives a team step.
        """
        by_worker: dict[str, list[TaskRouterEvent]] = defaultdict(list)
        for event in batch:
            by_worker[str(event.worker_sid)].append(event)
        described: dict[str, list[TaskRouterEvent]] = defaultdict(list)
        for event in named:
            described[str(event.worker_sid)].append(event)
        steps = list(
            {
                (w, s.since): {
                    "worker_sid": w,
                    "since": s.since,
                    "team_id": s.team_id,
                    "department_id": s.department_id,
                }
                for w, evs in sorted(described.items())
                for s in map(derive.team_step, sorted(evs, key=TaskRouterEvent.sort_key))
                if s is not None
            }.values()
        )
        changing = await _changing_steps(conn, steps)
        await insert_ignore(conn, worker_teams, steps)
        names = {
            w: next((e.worker_name for e in evs if e.worker_name), None)
            for w, evs in (by_worker | described).items()
        }
        await insert_ignore(
            conn, t.agents, [{"agent_id": w, "full_name": n} for w, n in sorted(names.items())]
        )
        await _remember_attributes(conn, described)
        await self._agents(conn, sorted(names))
        workers = sorted(by_worker)

        rows: list[Row] = []
        open_rows: list[Row] = []
        for worker, evs in by_worker.items():
            closed, _ = derive.status_segments(worker, evs, self.tz)
            rows += closed
        for worker, tied in (await _current_statuses(conn, workers)).items():
            _, open_row = derive.status_segments(worker, tied, self.tz)
            if open_row is not None:
                open_rows.append(open_row)
        rows = list({r["segment_id"]: r for r in rows}.values())  # a change delivered twice
        replaced = [r["segment_id"] for r in rows]
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
        """Rebuild each worker's agent row from the latest attributes any event brought."""
        latest: dict[str, TaskRouterEvent] = {}
        wa = worker_attributes
        for chunk in chunks(workers):
            found = await conn.execute(
                select(wa.c.worker_sid, wa.c.payload).where(wa.c.worker_sid.in_(chunk))
            )
            for worker, payload in found:
                event = _parsed(payload)
                if event is not None:
                    latest[worker] = event
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
        self, conn: AsyncConnection, plan: TaskPlan, touched: set[tuple[str, int]]
    ) -> tuple[list[Row], bool]:
        """Write the planned tasks: their rows replace whatever the tasks had before.

        Also says whether any segment written or replaced has an agent (a handling team).
        """
        task_sids, derived = plan.task_sids, plan.derived
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
        handled = False
        for chunk in chunks(sorted(task_sids)):
            found = await conn.execute(
                select(seg.c.segment_id, seg.c.agent_id).where(seg.c.external_id.in_(chunk))
            )
            for segment_id, agent_id in found:
                old.append(segment_id)
                handled = handled or agent_id is not None
        await self._delete_segments(conn, old, touched)
        for chunk in chunks(segments):  # in task order: a segment follows its predecessor
            await conn.execute(seg.insert(), chunk)
        # a segment without an agent has no handling team: only those with one are looked up
        with_agent = [r["segment_id"] for r in segments if r["agent_id"] is not None]
        for chunk in chunks(with_agent):
            await self._refresh_handling(conn, seg.c.segment_id.in_(chunk))
        conversation_ids = sorted(
            {d.conversation["conversation_id"] for d in derived if d.conversation}
        )
        await _conversation_times(conn, conversation_ids)
        await _conversation_chains(conn, conversation_ids)
        return segments, handled or bool(with_agent)

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


def _parsed(payload: str) -> TaskRouterEvent | None:
    """A stored event again; None for one an older version stored that no longer validates."""
    try:
        return event_from_payload(json.loads(payload))
    except (EventError, ValueError, RecursionError):
        return None


async def _current_statuses(
    conn: AsyncConnection, workers: list[str]
) -> dict[str, list[TaskRouterEvent]]:
    """Each worker's status changes at its latest instant (several when they share it)."""
    e = events
    rank = (
        func.rank().over(partition_by=e.c.worker_sid, order_by=e.c.timestamp_ms.desc()).label("r")
    )
    found: dict[str, list[TaskRouterEvent]] = defaultdict(list)
    for chunk in chunks(workers):
        ranked = (
            select(e.c.worker_sid, e.c.payload, rank)
            .where(e.c.worker_sid.in_(chunk), e.c.event_type.in_(derive.STATUS_EVENTS))
            .subquery()
        )
        result = await conn.execute(
            select(ranked.c.worker_sid, ranked.c.payload).where(ranked.c.r == 1)
        )
        for worker, payload in result:
            event = _parsed(payload)
            if event is not None:
                found[worker].append(event)
    return found


async def _remember_attributes(
    conn: AsyncConnection, described: dict[str, list[TaskRouterEvent]]
) -> None:
    """Keep each worker's latest attributes by event time (ties: the greater dedup key).

    A conditional upsert, so an older event arriving late never replaces newer attributes.
    """
    rows = []
    for worker, evs in sorted(described.items()):
        latest = max(evs, key=lambda e: (e.timestamp_ms, e.dedup_key))
        rows.append(
            {
                "worker_sid": worker,
                "timestamp_ms": latest.timestamp_ms,
                "dedup_key": latest.dedup_key,
                "payload": json.dumps(latest.payload, separators=(",", ":")),
            }
        )
    if not rows:
        return
    wa = worker_attributes
    stmt = insert_for(conn, wa)
    newer = or_(
        stmt.excluded.timestamp_ms > wa.c.timestamp_ms,
        and_(
            stmt.excluded.timestamp_ms == wa.c.timestamp_ms,
            stmt.excluded.dedup_key > wa.c.dedup_key,
        ),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["worker_sid"],
        set_={c: stmt.excluded[c] for c in ("timestamp_ms", "dedup_key", "payload")},
        where=newer,
    )
    for chunk in chunks(rows):
        await conn.execute(stmt, chunk)


async def _changing_steps(conn: AsyncConnection, steps: list[Row]) -> list[Row]:
    """The new team steps that change a worker's team from what was in force at their moment.

    The stored steps hold no step between a new one and the next, so over that span the old
    value was the step in force at its moment: where it is equal, no segment changes. Every step
    is stored anyway, because a step that is redundant now may matter once an earlier one
    arrives out of order.
    """
    history = await _stored_steps(conn, steps)
    changing = []
    for step in steps:
        stored = history.get(step["worker_sid"], [])
        at = bisect.bisect_right(stored, step["since"], key=lambda s: s.since)
        before = stored[at - 1] if at else None
        if before is None or (
            before.since != step["since"]
            and (before.team_id, before.department_id) != (step["team_id"], step["department_id"])
        ):
            changing.append(step)
    return changing


STEP_WORKERS_PER_STATEMENT = 100  # one OR term and subquery each: well inside SQLite's limits


async def _stored_steps(conn: AsyncConnection, steps: list[Row]) -> dict[str, list[Any]]:
    """The stored team steps the new `steps` are compared with, by worker in time order.

    For each worker: the steps over the span of its new ones, and the one in force at the span's
    start. A few statements per batch (not one per step), and not a worker's whole history.
    """
    spans: dict[str, tuple[int, int]] = {}
    for step in steps:
        worker, since = step["worker_sid"], step["since"]
        low, high = spans.get(worker, (since, since))
        spans[worker] = (min(low, since), max(high, since))
    wt, earlier = worker_teams, worker_teams.alias("earlier")
    history: dict[str, list[Any]] = defaultdict(list)
    workers = sorted(spans.items())
    for start in range(0, len(workers), STEP_WORKERS_PER_STATEMENT):
        terms = []
        for worker, (low, high) in workers[start : start + STEP_WORKERS_PER_STATEMENT]:
            in_force = (
                select(func.max(earlier.c.since))
                .where(earlier.c.worker_sid == worker, earlier.c.since <= low)
                .scalar_subquery()
            )
            terms.append(
                and_(
                    wt.c.worker_sid == worker,
                    wt.c.since <= high,
                    wt.c.since >= func.coalesce(in_force, low),
                )
            )
        found = await conn.execute(
            select(wt.c.worker_sid, wt.c.since, wt.c.team_id, wt.c.department_id)
            .where(or_(*terms))
            .order_by(wt.c.worker_sid, wt.c.since)
        )
        for row in found:
            history[row.worker_sid].append(row)
    return history


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


@cache
def _conversation_times_statement() -> Any:
    """Built once (its alias of `segments` cost more to build than the update to run)."""
    c, s = t.conversations, t.segments.alias("s")
    ends = s.c.started_at + func.coalesce(s.c.talk_time, 0) + func.coalesce(s.c.wrap_up_time, 0)
    first = select(func.min(s.c.started_at)).where(s.c.conversation_id == c.c.conversation_id)
    last = select(func.max(ends)).where(s.c.conversation_id == c.c.conversation_id)
    return (
        c.update()
        .where(c.c.conversation_id.in_(bindparam("ids", expanding=True)))
        .values(started_at=first.scalar_subquery(), ended_at=last.scalar_subquery())
    )


async def _conversation_times(conn: AsyncConnection, ids: list[str]) -> None:
    """A conversation spans its segments: first start to the last end of talk and wrap-up."""
    for chunk in chunks(ids):
        await conn.execute(_conversation_times_statement(), {"ids": chunk})


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


def _event_row(item: Accepted, now: int) -> Row:
    event, raw = item.event, item.raw
    return {
        "dedup_key": event.dedup_key,
        "event_type": event.event_type,
        "task_sid": event.task_sid,
        # only worker events: the worker index then holds a worker's history, not every call
        "worker_sid": event.worker_sid if event.event_type in WORKER_EVENTS else None,
        "timestamp_ms": event.timestamp_ms,
        "has_worker_attributes": event.worker_attributes is not None
        and event.event_type in WORKER_EVENTS,
        "payload": item.payload,
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
    for number, line in enumerate(stream, 1):
        stripped = line.strip()
        if stripped:
            yield RawEvent(stripped, source, number)
