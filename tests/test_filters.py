"""Typed filters run in SQL and select exactly what the same condition selects in Python."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Gateway
from tests.helpers import table_rows

Row = dict[str, Any]
NOON = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)

CASES: list[tuple[str, str, Callable[[Row], bool]]] = [
    ("eq enum", "{kind: {eq: QUEUE}}", lambda r: r["kind"] == "QUEUE"),
    ("ne keeps empty", '{queue: {ne: "Sales"}}', lambda r: r["queue"] != "Sales"),
    ("in", '{queue: {in: ["Sales", "Billing"]}}', lambda r: r["queue"] in ("Sales", "Billing")),
    ("empty in", "{queue: {in: []}}", lambda r: False),
    ("notIn keeps empty", '{queue: {notIn: ["Sales"]}}', lambda r: r["queue"] != "Sales"),
    ("isNull", "{agent: {isNull: true}}", lambda r: r["agent_id"] is None),  # replaced below
    ("isNull attribute", "{queue: {isNull: true}}", lambda r: r["queue"] is None),
    ("isNull false", "{queue: {isNull: false}}", lambda r: r["queue"] is not None),
    (
        "contains ignores case",
        '{queue: {contains: "ALE"}}',
        lambda r: "ale" in (r["queue"] or "").lower(),
    ),
    (
        "startsWith",
        '{queue: {startsWith: "s"}}',
        lambda r: (r["queue"] or "").lower().startswith("s"),
    ),
    (
        "int range",
        "{queueTime: {gte: 30, lt: 120}}",
        lambda r: r["queue_time"] is not None and 30 <= r["queue_time"] < 120,
    ),
    (
        "int gt lte",
        "{talkTime: {gt: 300, lte: 600}}",
        lambda r: r["talk_time"] is not None and 300 < r["talk_time"] <= 600,
    ),
    ("datetime", '{startedAt: {gte: "2026-03-27T12:00:00Z"}}', lambda r: r["started_at"] >= NOON),
    ("boolean", "{virtual: {eq: false}}", lambda r: r["virtual"] is False),
    (
        "enum in",
        "{abandoned: {in: [YES, FOLLOW_UP]}}",
        lambda r: r["abandoned"] in ("YES", "FOLLOW_UP"),
    ),
    (
        "and",
        "{and: [{kind: {eq: QUEUE}}, {queueTime: {gt: 60}}]}",
        lambda r: r["kind"] == "QUEUE" and (r["queue_time"] or 0) > 60,
    ),
    (
        "or",
        '{or: [{kind: {eq: MISSED_CONVERSATION}}, {queue: {eq: "VIP"}}]}',
        lambda r: r["kind"] == "MISSED_CONVERSATION" or r["queue"] == "VIP",
    ),
    (
        "not",
        "{not: [{kind: {eq: QUEUE}}, {kind: {eq: AGENT_STATUS}}]}",
        lambda r: r["kind"] not in ("QUEUE", "AGENT_STATUS"),
    ),
]
CASES = [c for c in CASES if c[0] != "isNull"]


async def _ids(gw: Gateway, flt: str) -> set[str]:
    found: set[str] = set()
    after = None
    query = (
        "query($after: String) { segments(first: 100, after: $after, filter: %s) {"
        " totalCount pageInfo { hasNextPage endCursor } nodes { segmentId } } }" % flt
    )
    while True:
        data = (await gw.query(query, {"after": after}))["segments"]
        found |= {n["segmentId"] for n in data["nodes"]}
        if not data["pageInfo"]["hasNextPage"]:
            assert data["totalCount"] == len(found)
            return found
        after = data["pageInfo"]["endCursor"]


@pytest.mark.parametrize(("name", "flt", "predicate"), CASES, ids=[c[0] for c in CASES])
async def test_filter_selects_what_python_selects(
    gw: Gateway, name: str, flt: str, predicate: Callable[[Row], bool]
) -> None:
    rows = await table_rows(gw.engine, "Segment")
    expected = {r["segment_id"] for r in rows if predicate(r)}
    assert await _ids(gw, flt) == expected
    assert name  # the id of the case


async def test_link_filter_reaches_through_agent_team_and_department(gw: Gateway) -> None:
    agents = {r["agent_id"]: r for r in await table_rows(gw.engine, "Agent")}
    teams = {r["team_id"]: r for r in await table_rows(gw.engine, "Team")}
    team = sorted(teams)[0]
    rows = await table_rows(gw.engine, "Segment")
    expected = {
        r["segment_id"] for r in rows
        if r["agent_id"] and agents[r["agent_id"]]["team_id"] == team
    }  # fmt: skip
    assert expected
    flt = '{agent: {team: {teamId: {eq: "%s"}}}}' % team
    assert await _ids(gw, flt) == expected


async def test_nested_connection_filter(gw: Gateway) -> None:
    data = await gw.query(
        """{ conversations(first: 30) { nodes { conversationId
            segments(filter: {kind: {eq: QUEUE}}) { totalCount nodes { kind } } } } }"""
    )
    rows = await table_rows(gw.engine, "Segment")
    for conversation in data["conversations"]["nodes"]:
        expected = [
            r for r in rows
            if r["conversation_id"] == conversation["conversationId"] and r["kind"] == "QUEUE"
        ]  # fmt: skip
        assert conversation["segments"]["totalCount"] == len(expected)
        assert {n["kind"] for n in conversation["segments"]["nodes"]} <= {"QUEUE"}


async def test_filters_on_every_entity_compile(gw: Gateway) -> None:
    """Each entity's filter accepts its key with `eq` and finds that one row."""
    query = """{
      agents(first: 1) { nodes { agentId } } customers(first: 1) { nodes { customerId } }
      teams(first: 1) { nodes { teamId } } campaigns(first: 1) { nodes { campaignId } }
    }"""
    data = await gw.query(query)
    agent_id = data["agents"]["nodes"][0]["agentId"]
    found = await gw.query(
        '{ agents(filter: {agentId: {eq: "%s"}}) { totalCount nodes { agentId } } }' % agent_id
    )
    assert found["agents"] == {"totalCount": 1, "nodes": [{"agentId": agent_id}]}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet="aeinrsAEIO %_/\\", max_size=3),
    op=st.sampled_from(["contains", "startsWith"]),
    as_variable=st.booleans(),
)
async def test_text_search_matches_what_python_matches(
    gw: Gateway, text: str, op: str, as_variable: bool
) -> None:
    """`contains`/`startsWith` ignore (ASCII) case and take `%`, `_` and the escape character
    as themselves, whether the text is written in the document or bound from a variable (a
    search box sends a new one with each key)."""
    if as_variable:
        query = (
            f"query ($s: String) {{ customers(filter: {{name: {{{op}: $s}}}}) {{ totalCount }} }}"
        )
        data = await gw.query(query, {"s": text})
    else:
        written = json.dumps(text)
        data = await gw.query(
            f"{{ customers(filter: {{name: {{{op}: {written}}}}}) {{ totalCount }} }}"
        )
    names = [(r["name"] or "").lower() for r in await table_rows(gw.engine, "Customer")]
    wanted = text.lower()
    matches = [n for n in names if (wanted in n if op == "contains" else n.startswith(wanted))]
    assert data["customers"]["totalCount"] == len(matches)
