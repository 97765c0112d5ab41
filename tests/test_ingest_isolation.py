"""An event with an absurd value costs only itself: the reason names the field, the good events of
the batch apply, an event stored earlier never blocks the later ones of its task, and a write that
fails for one task leaves the other tasks of the batch applied."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.cli import main
from tests.ingest_helpers import UTC_ZONE, call_events, fresh_engine, ingest_lines, template
from warehouse import tables as t
from warehouse.ingest import Ingestor, TaskPlan, read_lines
from warehouse.ingest_tables import dead_letters, events

T0 = 1_774_000_000
NAN = float("nan")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "isolation.db")
    yield engine
    await engine.dispose()


async def _letters(engine: AsyncEngine) -> list[tuple[int | None, str]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(dead_letters.c.line, dead_letters.c.reason).order_by(dead_letters.c.line)
        )
        return [(line, reason) for line, reason in found]


async def _segments(engine: AsyncEngine, task: str) -> list[tuple[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(t.segments.c.kind, t.segments.c.queue_time)
            .where(t.segments.c.external_id == task)
            .order_by(t.segments.c.started_at, t.segments.c.segment_id)
        )
        return [(kind, queue_time) for kind, queue_time in found]


def _attributes(**conversations: Any) -> str:
    return json.dumps({"direction": "inbound", "conversations": conversations})


ABSURD: list[tuple[str, str, dict[str, Any], str]] = [
    ("task.created", "Timestamp", {"Timestamp": NAN, "TimestampMs": None}, "Timestamp must be"),
    ("task.created", "TimestampMs", {"TimestampMs": 1e300}, "TimestampMs"),
    ("task.created", "TimestampMs", {"TimestampMs": 253_402_300_800_000}, "is outside 2000-01-01"),
    ("task.created", "Timestamp", {"TimestampMs": None, "Timestamp": -62_135_596_800}, "outside"),
    ("task.created", "TaskPriority", {"TaskPriority": 2**40}, "TaskPriority"),
    ("task.created", "TaskAge", {"TaskAge": float("inf")}, "TaskAge must be a finite number"),
    ("task.created", "TaskQueueName", {"TaskQueueName": "Sales\x00"}, "NUL"),
    ("task.created", "TaskChannelUniqueName", {"TaskChannelUniqueName": {"a": 1}}, "string"),
    ("task.created", "hold_time", {"TaskAttributes": _attributes(hold_time=1e30)}, "hold_time"),
    ("task.created", "measure", {"TaskAttributes": _attributes(conversation_measure_1=NAN)}, "finite"),
    ("task.created", "customer", {"TaskAttributes": json.dumps({"customers": {"year_of_birth": "x"}})}, "year_of_birth"),
    ("task.created", "from", {"TaskAttributes": json.dumps({"from": "\ud800"})}, "surrogate"),
    ("reservation.created", "WorkerAttributes", {"WorkerAttributes": {"full_name": "\ud800"}}, "full_name"),
    ("worker.activity.update", "spent", {"WorkerTimeInPreviousActivity": 10**12}, "WorkerTimeInPreviousActivity"),
    ("worker.activity.update", "spent", {"WorkerTimeInPreviousActivity": T0}, "reaches back before"),
    ("worker.created", "date_joined", {"WorkerAttributes": {"date_joined": 10**20}}, "date_joined"),
    ("worker.created", "team", {"WorkerAttributes": {"team_id": ["T1"]}}, "team_id"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "name", "change", "reason"), ABSURD, ids=[a[1] for a in ABSURD])
async def test_an_absurd_value_is_a_dead_letter_naming_it_and_the_batch_applies(
    engine: AsyncEngine, kind: str, name: str, change: dict[str, Any], reason: str
) -> None:
    bad = {k: v for k, v in (template(kind, "bad", T0) | change).items() if v is not None}
    lines = [*call_events("WTgood", "WKgood", T0), json.dumps(bad)]
    counts = await ingest_lines(engine, lines, source="absurd.jsonl")
    assert (counts.applied, counts.rejected) == (4, 1), counts.problems
    [(line, why)] = await _letters(engine)
    assert line == 5 and reason in why, why
    assert counts.problems == [f"absurd.jsonl:5: {why}"]
    assert [k for k, _ in await _segments(engine, "WTgood")] == ["QUEUE", "CONVERSATION"]


def _raw(kind: str, at_ms: int, task: str = "WTlong", **fields: Any) -> str:
    res = {"ReservationSid": f"WR{task}", "WorkerSid": "WKlong"}
    event = {"EventType": kind, "Sid": f"EV{kind}{at_ms}", "TimestampMs": at_ms, "TaskSid": task}
    return json.dumps(event | (res if kind.startswith("reservation.") else {}) | fields)


async def test_an_event_that_breaks_its_task_costs_itself_and_later_events_still_apply(
    engine: AsyncEngine,
) -> None:
    """Each time fits the window, but a queue time of 98 years fits no column: that event goes."""
    early, late = 978_307_200_000, 4_070_908_800_000  # 2001 and 2099
    first = await ingest_lines(
        engine, [_raw("task-queue.entered", early, TaskQueueName="Sales")], source="a"
    )
    assert first.applied == 1
    breaking = [*call_events("WTother", "WKother", T0), _raw("task.canceled", late)]
    counts = await ingest_lines(engine, breaking, source="b")
    assert (counts.applied, counts.rejected) == (4, 1), counts.problems
    [(line, why)] = await _letters(engine)
    assert line == 5 and why.startswith("segment WTlong-Q1 ") and "out of range" in why
    assert [k for k, _ in await _segments(engine, "WTother")] == ["QUEUE", "CONVERSATION"]
    later = await ingest_lines(engine, [_raw("task.canceled", early + 42_000)], source="c")
    assert (later.applied, later.rejected) == (1, 0)
    assert await _segments(engine, "WTlong") == [("QUEUE", 42), ("CONVERSATION", 42)]


async def test_an_event_stored_before_the_checks_is_evicted_instead_of_blocking_its_task(
    engine: AsyncEngine,
) -> None:
    """An older version stored `TaskPriority: 1e30`; the task's next event evicts it."""
    legacy = {"EventType": "task.created", "Sid": "EVold", "Timestamp": T0, "TaskSid": "WTold",
              "TaskPriority": 1e30}  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(
            events.insert().values(
                dedup_key="sid:EVold", event_type="task.created", task_sid="WTold",
                timestamp_ms=T0 * 1000, has_worker_attributes=False, payload=json.dumps(legacy),
                source="old.jsonl", line=7, received_at=T0,
            )
        )  # fmt: skip
    later = [
        _raw("task-queue.entered", T0 * 1000, task="WTold", TaskQueueName="Sales"),
        _raw("task.canceled", (T0 + 30) * 1000, task="WTold"),
    ]
    counts = await ingest_lines(engine, later, source="new.jsonl")
    assert (counts.applied, counts.rejected) == (2, 0)
    assert counts.problems == [
        "old.jsonl:7: stored earlier, now TaskPriority 1e+30 is out of range "
        "(-2,147,483,648 to 2,147,483,647)"
    ]
    assert await _letters(engine) == [(7, counts.problems[0].split("now ", 1)[1])]
    async with engine.connect() as conn:
        keys = (await conn.execute(select(events.c.dedup_key).order_by("dedup_key"))).scalars()
        assert "sid:EVold" not in list(keys)
    assert await _segments(engine, "WTold") == [("QUEUE", 30), ("CONVERSATION", 30)]


class FailingWrites(Ingestor):
    """A database that refuses the rows of task `WTboom`, as no check foresaw."""

    async def _tasks(self, conn: AsyncConnection, plan: TaskPlan, touched: Any) -> Any:
        if "WTboom" in plan.task_sids:
            raise IntegrityError("INSERT INTO segments", {}, Exception("refused"))
        return await super()._tasks(conn, plan, touched)


async def test_a_write_that_fails_for_one_task_leaves_the_others_applied(
    engine: AsyncEngine,
) -> None:
    lines = [
        *call_events("WTa", "WKa", T0, sid="a"),
        *call_events("WTboom", "WKb", T0, sid="boom"),
        *call_events("WTc", "WKc", T0 + 900, sid="c"),
    ]
    total = [c async for c in FailingWrites(engine, UTC_ZONE).ingest(read_lines(lines, "w"))]
    [counts] = total
    assert (counts.applied, counts.rejected) == (8, 4)
    assert all("could not be stored: " in p and "refused" in p for p in counts.problems)
    assert sorted(line for line, _ in await _letters(engine)) == [5, 6, 7, 8]
    for task in ("WTa", "WTc"):
        assert [k for k, _ in await _segments(engine, task)] == ["QUEUE", "CONVERSATION"]
    assert await _segments(engine, "WTboom") == []
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(events))).scalar_one()
    assert stored == 8, "the refused events are not stored: re-running them applies them"


def test_the_command_prints_one_line_per_reject_no_traceback_and_a_rerun_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [
        json.dumps(template("task.created", f"bad{n}", T0) | {"TimestampMs": 10**30 + n})
        for n in range(30)
    ]
    lines = call_events("WTgood", "WKgood", T0) + bad + ['{"EventType": NaN}']
    path = tmp_path / "absurd.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    database = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    for run in range(2):
        status = main(["ingest", str(path), "--database", database, "--quiet"])
        out, err = capsys.readouterr()
        assert status == 1
        assert "Traceback" not in err
        rejected = err.splitlines()
        assert len(rejected) == 31 and all(r.startswith(f"rejected {path}:") for r in rejected)
        assert f"rejected {path}:5: TimestampMs " in rejected[0]
        applied = 4 if run == 0 else 0
        assert f"35 events read, {applied} applied, {4 - applied} ignored, 31 rejected" in out
