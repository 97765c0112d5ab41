"""Metrics read their index alone: a report over a time range `ix_segments_started_at`, a board
of agents, teams or queues the index on its key; each holds every column a segment metric reads
(`warehouse.tables.METRIC_COLUMNS`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.sql import visitors

from resolvers.metrics.catalog import CATALOG, DataSet, Thresholds
from tests.conftest import Gateway
from warehouse import tables as t
from warehouse.engine import sync_engines


def test_the_index_holds_every_column_a_segment_metric_reads() -> None:
    """A metric reading another column makes every report of it read the rows again: extend
    `METRIC_COLUMNS` (and the index, with a migration)."""
    read: set[str] = set()
    for metric in CATALOG:
        if metric.dataset is DataSet.SEGMENTS:
            expression = metric.sql(Thresholds(percentile=0.5))
            read |= {
                c.name
                for c in visitors.iterate(expression)
                if getattr(c, "table", None) is t.segments
            }
    assert read <= set(t.METRIC_COLUMNS), read - set(t.METRIC_COLUMNS)
    index = next(i for i in t.segments.indexes if i.name == "ix_segments_started_at")
    assert [c.name for c in index.columns] == ["started_at", *t.METRIC_COLUMNS]


WINDOW = 'from: "2026-03-27T00:00:00Z", to: "2026-03-28T00:00:00Z"'
METRICS = "queueSegments serviceLevel averageHandlingTime abandonedConversations talkTime"
REPORT = f"""{{ report(groupBy: [QUEUE, INTERVAL_15_MINUTES], {WINDOW}, first: 50,
  orderBy: [{{metric: QUEUE_SEGMENTS, direction: DESC}}]) {{
    rows {{ key {{ queue interval15Minutes }} metrics {{ {METRICS} }} }}
    total {{ conversations }} }} }}"""
# a board: each row's metrics over its own segments, found by the row's key
BOARDS = {
    "queues": ("name", "ix_segments_queue (queue=? AND"),
    "teams": ("name", "ix_segments_handling_team (handling_team_id=? AND"),
    "agents": ("fullName", "ix_segments_agent (agent_id=? AND"),
}
DOCUMENTS = {
    "a report over a time range": (REPORT, "ix_segments_started_at ("),
    **{
        f"a board of {root}": (
            f"{{ {root}(first: 20) {{ nodes {{ {name} metrics({WINDOW}) {{ {METRICS} }} }} }} }}",
            index,
        )
        for root, (name, index) in BOARDS.items()
    },
}


@pytest.mark.parametrize("case", sorted(DOCUMENTS))
async def test_metrics_read_their_index_alone(gw: Gateway, case: str) -> None:
    document, index = DOCUMENTS[case]
    if gw.engine.dialect.name == "postgresql":  # its planner chooses by statistics: the index
        name = index.split(" ")[0]
        async with gw.engine.connect() as conn:
            definition = await conn.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": name}
            )
        held = definition.split("(", 1)[1].rstrip(")").split(", ")
        assert set(t.METRIC_COLUMNS) <= set(held), definition
        return
    ran: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "segments.started_at >=" in statement:
            ran.append((statement, parameters))

    targets = sync_engines(gw.engine)
    for target in targets:
        event.listen(target, "before_cursor_execute", record)
    try:
        await gw.query(document)
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", record)
    assert ran
    with targets[-1].connect() as conn:
        for statement, parameters in ran:
            plan = [
                r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            ]
            reads = [p for p in plan if " segments " in f"{p} " and ("SEARCH" in p or "SCAN" in p)]
            assert reads, plan
            assert all(
                p.startswith(f"SEARCH segments USING COVERING INDEX {index}") for p in reads
            ), plan
