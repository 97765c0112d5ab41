"""Drill-down by metric: the segments behind a number add up to it, row by row.

For every metric of the catalog that counts segments or conversations (read off the catalog, so a
new one is covered), each row of a report by date and queue lists `segments(metric:)`, paged to
the end; their count (or their distinct conversations) must equal the row's value.
"""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.metrics.catalog import CATALOG, COUNTED, DataSet, Unit
from tests.conftest import Gateway
from tests.helpers import camel

COUNTS = [
    m
    for m in CATALOG
    if m.dataset is DataSet.SEGMENTS and m.unit is Unit.COUNT and m.shape == "sum"
    if m.formula.startswith(("#conv(", "count"))
]
BY_CONVERSATION = {m.name for m in COUNTS if m.formula.startswith("#conv(")}
GROUP_BY = "[DATE, QUEUE]"


def enum_name(metric: str) -> str:
    return "".join(f"_{c}" if c.isupper() else c.upper() for c in metric)


def test_the_counting_metrics_are_found_and_all_have_their_segments() -> None:
    names = {m.name for m in COUNTS}
    assert {"segments", "handledConversations", "segmentsSubjectToSla", "missedSegments"} <= names
    assert "handledConversations" in BY_CONVERSATION and "queueSegments" not in BY_CONVERSATION
    assert {m.name for m in CATALOG if m.dataset is DataSet.SEGMENTS} == set(COUNTED)


async def behind(gw: Gateway, metric: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """Every segment `segments(metric:)` lists for the row, following `endCursor`."""
    nodes: list[dict[str, Any]] = []
    page = row["drill"]
    while True:
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        query = """query ($after: String) { report(groupBy: %s) { rows { key { date queue }
            drill: segments(metric: %s, first: 100, after: $after) {
              nodes { segmentId conversation { conversationId } }
              pageInfo { hasNextPage endCursor } } } } }""" % (GROUP_BY, enum_name(metric))
        variables = {"after": page["pageInfo"]["endCursor"]}
        rows = (await gw.query(query, variables))["report"]["rows"]
        page = next(r for r in rows if r["key"] == row["key"])["drill"]


@pytest.mark.parametrize("metric", [m.name for m in COUNTS])
async def test_the_drill_down_adds_up_to_the_metric(gw: Gateway, metric: str) -> None:
    query = """{ report(groupBy: %s) { rows { key { date queue } metrics { %s }
        drill: segments(metric: %s, first: 100) {
          totalCount nodes { segmentId conversation { conversationId } }
          pageInfo { hasNextPage endCursor } } } } }""" % (GROUP_BY, metric, enum_name(metric))
    rows = (await gw.query(query))["report"]["rows"]
    nonzero = 0
    for row in rows:
        value = row["metrics"][metric]
        nodes = await behind(gw, metric, row)
        assert len({n["segmentId"] for n in nodes}) == len(nodes) == row["drill"]["totalCount"]
        if metric in BY_CONVERSATION:
            found = {n["conversation"]["conversationId"] for n in nodes if n["conversation"]}
            assert len(found) == value, (row["key"], len(found), value)
        else:
            assert len(nodes) == value, (row["key"], len(nodes), value)
        nonzero += value > 0
    if metric not in {"rejectedSegments", "revokedSegments", "shortAbandonedConversations"}:
        assert nonzero >= 3, f"too few rows with {metric} to mean anything"


async def test_service_level_lists_the_segments_subject_to_sla(gw: Gateway) -> None:
    query = """{ report(groupBy: [QUEUE]) { rows { key { queue }
        metrics { segmentsSubjectToSla segmentsWithinSla }
        subject: segments(metric: SERVICE_LEVEL, first: 0) { totalCount }
        within: segments(metric: SEGMENTS_WITHIN_SLA, first: 0) { totalCount }
        quick: segments(metric: SERVICE_LEVEL, filter: {queueTime: {lt: 20}}, first: 0) {
          totalCount }
        all: segments(first: 0) { totalCount } } } }"""
    for row in (await gw.query(query))["report"]["rows"]:
        assert row["subject"]["totalCount"] == row["metrics"]["segmentsSubjectToSla"]
        assert row["within"]["totalCount"] == row["metrics"]["segmentsWithinSla"]
        assert row["quick"]["totalCount"] <= row["subject"]["totalCount"]
        assert row["all"]["totalCount"] >= row["subject"]["totalCount"]


async def test_drill_downs_by_metric_cost_one_statement_each_whatever_the_rows(
    gw: Gateway,
) -> None:
    query = """{ report(groupBy: [DATE, QUEUE], from: "%s", to: "2026-03-30T00:00:00Z") { rows {
        a: segments(metric: HANDLED_CONVERSATIONS, first: 5) { nodes { segmentId } }
        b: segments(metric: QUEUE_SEGMENTS, first: 5) { nodes { segmentId } } } } }"""
    counts, rows = [], []
    for start in ("2026-03-28T00:00:00Z", "2026-03-01T00:00:00Z"):
        gw.statements.clear()
        rows.append(len((await gw.query(query % start))["report"]["rows"]))
        counts.append(len(gw.statements))
    assert rows[0] < rows[1], rows
    assert counts[0] == counts[1], counts


async def test_a_metric_of_another_data_set_has_no_segments_to_list(gw: Gateway) -> None:
    workload = next(m.name for m in CATALOG if m.dataset is DataSet.WORKLOAD)
    query = "{ report(groupBy: [QUEUE]) { rows { segments(metric: %s) { totalCount } } } }"
    errors = await gw.errors(query % enum_name(workload))
    assert any(f"`{workload}` is not computed over segments" in e for e in errors), errors


def test_enum_names_follow_the_schema() -> None:
    assert enum_name("handledConversations") == "HANDLED_CONVERSATIONS"
    assert camel("handled_conversations") == "handledConversations"
