"""Report rows page like connections: `first`/`after`, `pageInfo`, a cursor on every row.

Hypothesis draws groupings, orders and page sizes; walking the pages must give exactly the rows
of the whole report in the same order, each page costing what the whole report costs (one grouped
statement per data set), and a cursor of another report is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Gateway

GROUPINGS = [["QUEUE"], ["QUEUE", "CHANNEL"], ["DATE", "DIRECTION"], ["AGENT"], ["KIND", "HOUR"]]
KEYS = {"AGENT": "agent { agentId }"}
METRICS = ["segments", "serviceLevel", "averageTalkTime"]


def key_text(dimensions: list[str]) -> str:
    parts = []
    for d in dimensions:
        head, *rest = d.lower().split("_")
        name = head + "".join(p.title() for p in rest)
        parts.append(KEYS.get(d, name))
    return " ".join(parts)


def document(dimensions: list[str], order: str, metrics: list[str]) -> str:
    return """query ($first: Int, $after: String) {
      report(groupBy: [%s], orderBy: [%s], first: $first, after: $after) {
        totalRows pageInfo { hasNextPage hasPreviousPage endCursor }
        rows { cursor key { %s } metrics { %s } } } }""" % (
        ", ".join(dimensions),
        order,
        key_text(dimensions),
        " ".join(metrics),
    )


async def walk(gw: Gateway, query: str, size: int) -> tuple[list[Any], list[int]]:
    """Every row, page by page, and the statements each page cost."""
    rows: list[Any] = []
    costs: list[int] = []
    after = None
    while True:
        gw.statements.clear()
        report = (await gw.query(query, {"first": size, "after": after}))["report"]
        costs.append(len(gw.statements))
        assert len(costs) <= report["totalRows"] // size + 2, "the pages do not advance"
        assert report["pageInfo"]["hasPreviousPage"] == (after is not None)
        rows += report["rows"]
        if report["rows"]:
            assert report["pageInfo"]["endCursor"] == report["rows"][-1]["cursor"]
        if not report["pageInfo"]["hasNextPage"]:
            assert len(rows) == report["totalRows"]
            return rows, costs
        after = report["pageInfo"]["endCursor"]


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    dimensions=st.sampled_from(GROUPINGS),
    by_metric=st.sampled_from([None, *METRICS]),
    descending=st.booleans(),
    size=st.integers(1, 9),
    mixed=st.booleans(),
)
async def test_pages_walk_the_whole_report_in_its_order(
    gw: Gateway,
    dimensions: list[str],
    by_metric: str | None,
    descending: bool,
    size: int,
    mixed: bool,
) -> None:
    direction = "DESC" if descending else "ASC"
    if by_metric is None:
        order = f"{{dimension: {dimensions[0]}, direction: {direction}}}"
    else:
        snake = "".join(f"_{c}" if c.isupper() else c.upper() for c in by_metric)
        order = f"{{metric: {snake}, direction: {direction}}}"
    # mixed: a workload metric too, so the data sets' groups meet in the gateway
    metrics = [*METRICS, "workloadTalkTime"] if mixed and "KIND" not in dimensions else METRICS
    query = document(dimensions, order, metrics)
    gw.statements.clear()
    whole = (await gw.query(query, {"first": 10_000, "after": None}))["report"]
    whole_cost = len(gw.statements)
    paged, costs = await walk(gw, query, size)
    strip = [{k: v for k, v in r.items() if k != "cursor"} for r in paged]
    assert strip == [{k: v for k, v in r.items() if k != "cursor"} for r in whole["rows"]]
    assert len({r["cursor"] for r in paged}) == len(paged)
    assert all(cost <= whole_cost for cost in costs), (costs, whole_cost)


async def test_a_page_past_the_end_is_empty_and_still_counts(gw: Gateway) -> None:
    query = document(["QUEUE"], "{dimension: QUEUE}", ["segments"])
    whole = (await gw.query(query, {"first": 100, "after": None}))["report"]
    last = whole["rows"][-1]["cursor"]
    beyond = (await gw.query(query, {"first": 5, "after": last}))["report"]
    assert beyond["rows"] == [] and beyond["totalRows"] == whole["totalRows"]
    assert beyond["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    "other",
    [
        document(["QUEUE"], "{dimension: QUEUE, direction: DESC}", ["segments"]),
        document(["CHANNEL"], "{dimension: CHANNEL}", ["segments"]),
    ],
)
async def test_a_cursor_of_another_report_is_refused(gw: Gateway, other: str) -> None:
    query = document(["QUEUE"], "{dimension: QUEUE}", ["segments"])
    cursor = (await gw.query(query, {"first": 1, "after": None}))["report"]["pageInfo"]["endCursor"]
    errors = await gw.errors(other, {"first": 1, "after": cursor})
    assert any("row cursor of another report" in e for e in errors), errors


@given(garbage=st.text(max_size=40))
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
async def test_a_tampered_cursor_is_a_clear_error(gw: Gateway, garbage: str) -> None:
    query = document(["QUEUE"], "{dimension: QUEUE}", ["segments"])
    result = await gw.execute(query, {"first": 1, "after": garbage})
    assert result.errors, garbage
    assert all("cursor" in e.message for e in result.errors), result.errors
