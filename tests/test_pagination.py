"""Cursor pagination both ways, multi-key ordering with empty values, and totalCount."""

from __future__ import annotations

from typing import Any

from tests.conftest import Gateway
from tests.helpers import table_rows

PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $order: [SegmentOrder!]) {
  segments(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
           filter: {kind: {in: [QUEUE, CONVERSATION]}}) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { segmentId queue queueTime startedAt } }
  }
}"""

ORDER = [{"field": "QUEUE", "direction": "DESC"}, {"field": "QUEUE_TIME", "direction": "ASC"}]


def _expected_order(rows: list[dict[str, Any]]) -> list[str]:
    """queue DESC (empty first), then queueTime ASC (empty last), then segmentId: in Python."""
    selected = [r for r in rows if r["kind"] in ("QUEUE", "CONVERSATION")]
    by_key = sorted(selected, key=lambda r: r["segment_id"])
    by_time = sorted(by_key, key=lambda r: (r["queue_time"] is None, r["queue_time"] or 0))
    by_queue = sorted(by_time, key=lambda r: (r["queue"] is None, r["queue"] or ""), reverse=True)
    return [r["segment_id"] for r in by_queue]


async def test_paging_forward_visits_every_row_once_in_order(gw: Gateway) -> None:
    expected = _expected_order(await table_rows(gw.engine, "Segment"))
    seen: list[str] = []
    after = None
    while True:
        data = (await gw.query(PAGE, {"first": 97, "after": after, "order": ORDER}))["segments"]
        assert data["totalCount"] == len(expected)
        seen += [e["node"]["segmentId"] for e in data["edges"]]
        assert data["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == expected


async def test_paging_backward_visits_every_row_once_in_order(gw: Gateway) -> None:
    expected = _expected_order(await table_rows(gw.engine, "Segment"))
    seen: list[str] = []
    before = None
    while True:
        data = (await gw.query(PAGE, {"last": 89, "before": before, "order": ORDER}))["segments"]
        seen = [e["node"]["segmentId"] for e in data["edges"]] + seen
        if not data["pageInfo"]["hasPreviousPage"]:
            break
        assert data["pageInfo"]["hasNextPage"] == (before is not None)
        before = data["pageInfo"]["startCursor"]
    assert seen == expected


async def test_after_and_before_bound_a_window(gw: Gateway) -> None:
    expected = _expected_order(await table_rows(gw.engine, "Segment"))
    first = (await gw.query(PAGE, {"first": 30, "order": ORDER}))["segments"]["edges"]
    window = await gw.query(
        PAGE,
        {"first": 100, "after": first[4]["cursor"], "before": first[20]["cursor"], "order": ORDER},
    )
    assert [e["node"]["segmentId"] for e in window["segments"]["edges"]] == expected[5:20]


async def test_default_page_size_and_zero(gw: Gateway) -> None:
    default = await gw.query("{ segments { edges { cursor } pageInfo { hasNextPage } } }")
    assert len(default["segments"]["edges"]) == 50
    assert default["segments"]["pageInfo"]["hasNextPage"] is True
    empty = await gw.query("{ segments(first: 0) { edges { cursor } pageInfo { hasNextPage } } }")
    assert empty["segments"]["edges"] == []
    assert empty["segments"]["pageInfo"]["hasNextPage"] is True


async def test_nested_pages_follow_their_cursor(gw: Gateway) -> None:
    query = """query($after: String) { agents(first: 3) { nodes { agentId
        segments(first: 4, after: $after, orderBy: [{field: STARTED_AT}]) {
          totalCount pageInfo { endCursor hasNextPage } nodes { segmentId startedAt } } } } }"""
    first = await gw.query(query)
    agent = first["agents"]["nodes"][0]
    rows = sorted(
        (r for r in await table_rows(gw.engine, "Segment") if r["agent_id"] == agent["agentId"]),
        key=lambda r: (r["started_at"], r["segment_id"]),
    )
    assert [s["segmentId"] for s in agent["segments"]["nodes"]] == [
        r["segment_id"] for r in rows[:4]
    ]
    second = await gw.query(query, {"after": agent["segments"]["pageInfo"]["endCursor"]})
    again = second["agents"]["nodes"][0]
    assert [s["segmentId"] for s in again["segments"]["nodes"]] == [
        r["segment_id"] for r in rows[4:8]
    ]
    assert again["segments"]["totalCount"] == len(rows)
