"""The three questions peer_bench asks both servers, and how each answer becomes plain data.

Each question is written once per server, in that server's own schema, and each side has a
normaliser that turns its answer into the same plain structure (lists of tuples; instants as
epoch seconds; counts as ints; averages rounded to 6 decimals), so "equal answers" means the same
rows, in the same order, with the same values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Plain = Any  # nested lists and tuples of str, int, float and None


@dataclass(frozen=True)
class Window:
    """The report's time range, [start, end) in epoch seconds."""

    start: int
    end: int


@dataclass(frozen=True)
class Question:
    name: str
    gateway_body: bytes  # the POST /graphql body for the gateway
    postgraphile_body: bytes  # ... and for PostGraphile
    gateway_plain: Callable[[Any], Plain]  # `data` of the gateway's answer -> plain
    postgraphile_plain: Callable[[Any], Plain]  # `data` of PostGraphile's answer -> plain


def _body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def _epoch(value: str | int | None) -> int | None:
    """The gateway writes ISO 8601 instants, PostGraphile the stored BigInt as a string."""
    if value is None:
        return None
    if isinstance(value, int) or value.lstrip("-").isdigit():
        return int(value)
    return int(datetime.fromisoformat(value).astimezone(UTC).timestamp())


def _name(node: dict[str, Any] | None) -> str | None:
    return None if node is None else node["name"]


# --- (a) the nested page ---------------------------------------------------------------------

NESTED_GATEWAY = """{ conversations(first: 50, orderBy: [{field: STARTED_AT, direction: DESC}]) {
  nodes { conversationId startedAt
    segments(first: 20) { nodes { segmentId kind queue talkTime
      agent { agentId fullName team { name } } customer { customerId name } } } } } }"""

# the gateway's documented orders, spelled out: ties by the key; a conversation's segments by
# segmentOrder (empty last, as ASC puts NULLs in PostgreSQL), then start and key
NESTED_POSTGRAPHILE = """{ allConversations(first: 50, orderBy: [STARTED_AT_DESC, CONVERSATION_ID_ASC]) {
  nodes { conversationId startedAt
    segmentsByConversationId(first: 20, orderBy: [SEGMENT_ORDER_ASC, STARTED_AT_ASC, SEGMENT_ID_ASC]) {
      nodes { segmentId kind queue talkTime
        agentByAgentId { agentId fullName teamByTeamId { name } }
        customerByCustomerId { customerId name } } } } } }"""


def _segment(s: dict[str, Any], agent: str, team: str, customer: str) -> Plain:
    a, c = s[agent], s[customer]
    return (
        s["segmentId"],
        s["kind"],
        s["queue"],
        s["talkTime"],
        None if a is None else (a["agentId"], a["fullName"], _name(a[team])),
        None if c is None else (c["customerId"], c["name"]),
    )


def nested_from_gateway(data: Any) -> Plain:
    return [
        (
            c["conversationId"],
            _epoch(c["startedAt"]),
            [_segment(s, "agent", "team", "customer") for s in c["segments"]["nodes"]],
        )
        for c in data["conversations"]["nodes"]
    ]


def nested_from_postgraphile(data: Any) -> Plain:
    return [
        (
            c["conversationId"],
            _epoch(c["startedAt"]),
            [
                _segment(s, "agentByAgentId", "teamByTeamId", "customerByCustomerId")
                for s in c["segmentsByConversationId"]["nodes"]
            ],
        )
        for c in data["allConversations"]["nodes"]
    ]


# --- (b) agents with team and department -----------------------------------------------------

AGENTS_GATEWAY = """{ agents(first: 100) { nodes { agentId fullName
  team { name department { name } } } } }"""

AGENTS_POSTGRAPHILE = """{ allAgents(first: 100, orderBy: [AGENT_ID_ASC]) { nodes { agentId fullName
  teamByTeamId { name departmentByDepartmentId { name } } } } }"""


def _agent(a: dict[str, Any], team: str, department: str) -> Plain:
    t = a[team]
    return (a["agentId"], a["fullName"], None if t is None else (t["name"], _name(t[department])))


def agents_from_gateway(data: Any) -> Plain:
    return [_agent(a, "team", "department") for a in data["agents"]["nodes"]]


def agents_from_postgraphile(data: Any) -> Plain:
    return [
        _agent(a, "teamByTeamId", "departmentByDepartmentId") for a in data["allAgents"]["nodes"]
    ]


# --- (c) the grouped aggregate ----------------------------------------------------------------

REPORT_GATEWAY = """query($from: DateTime!, $to: DateTime!) {
  report(groupBy: [QUEUE], from: $from, to: $to, filter: {kind: {eq: QUEUE}}) {
    rows { key { queue } metrics { queueSegments averageQueueTime } } } }"""

# pg-aggregates has no row count per group: the distinct count of the key is the idiom
REPORT_POSTGRAPHILE = """query($from: BigInt!, $to: BigInt!) {
  allSegments(filter: {kind: {equalTo: "QUEUE"},
                       startedAt: {greaterThanOrEqualTo: $from, lessThan: $to}}) {
    groupedAggregates(groupBy: [QUEUE]) {
      keys distinctCount { segmentId } average { queueTime } } } }"""


def _average(value: str | float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def report_from_gateway(data: Any) -> Plain:
    rows = [
        (
            r["key"]["queue"],
            int(r["metrics"]["queueSegments"]),
            _average(r["metrics"]["averageQueueTime"]),
        )
        for r in data["report"]["rows"]
    ]
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or ""))


def report_from_postgraphile(data: Any) -> Plain:
    rows = [
        (g["keys"][0], int(g["distinctCount"]["segmentId"]), _average(g["average"]["queueTime"]))
        for g in data["allSegments"]["groupedAggregates"]
    ]
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or ""))


def questions(window: Window) -> list[Question]:
    """The questions, the report over `window`."""
    iso = {
        "from": datetime.fromtimestamp(window.start, UTC).isoformat(),
        "to": datetime.fromtimestamp(window.end, UTC).isoformat(),
    }
    epoch = {"from": str(window.start), "to": str(window.end)}
    return [
        Question(
            "nested page: 50 conversations > segments > agent > team, customer",
            _body(NESTED_GATEWAY),
            _body(NESTED_POSTGRAPHILE),
            nested_from_gateway,
            nested_from_postgraphile,
        ),
        Question(
            "100 agents with team and department",
            _body(AGENTS_GATEWAY),
            _body(AGENTS_POSTGRAPHILE),
            agents_from_gateway,
            agents_from_postgraphile,
        ),
        Question(
            "report: queue segments, average queue time by queue, 7 days",
            _body(REPORT_GATEWAY, iso),
            _body(REPORT_POSTGRAPHILE, epoch),
            report_from_gateway,
            report_from_postgraphile,
        ),
    ]


def first_difference(left: Plain, right: Plain, path: str = "") -> str | None:
    """Where two plain answers first differ, for a loud failure message."""
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        for index, (a, b) in enumerate(zip(left, right, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        if len(left) != len(right):
            return f"{path or 'answer'}: {len(left)} items vs {len(right)}"
        return None
    if left != right:
        return f"{path or 'answer'}: {left!r} vs {right!r}"
    return None
