"""Reports over a time range read `ix_segments_started_at` alone: it holds every column a segment
metric reads (`warehouse.tables.METRIC_COLUMNS`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
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


REPORT = """{ report(groupBy: [QUEUE, INTERVAL_15_MINUTES], from: "2026-03-27T00:00:00Z",
  to: "2026-03-28T00:00:00Z", first: 50, orderBy: [{metric: QUEUE_SEGMENTS, direction: DESC}]) {
    rows { key { queue interval15Minutes } metrics { queueSegments serviceLevel
      averageHandlingTime abandonedConversations } } total { conversations } } }"""


async def test_a_report_over_a_time_range_reads_the_index_alone(gw: Gateway) -> None:
    if gw.engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's (PostgreSQL chooses by its statistics)")
    ran: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "segments.started_at >=" in statement:
            ran.append((statement, parameters))

    targets = sync_engines(gw.engine)
    for target in targets:
        event.listen(target, "before_cursor_execute", record)
    try:
        await gw.query(REPORT)
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", record)
    assert len(ran) == 2  # the rows and the total
    engine = targets[-1]
    with engine.connect() as conn:
        for statement, parameters in ran:
            plan = [
                r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
            reads = [p for p in plan if "segments" in p and ("SEARCH" in p or "SCAN" in p)]
            assert reads == [
                "SEARCH segments USING COVERING INDEX ix_segments_started_at "
                "(started_at>? AND started_at<?)"
            ], plan
