"""No N+1: a query costs a number of statements fixed by its shape, whatever the data size."""

from __future__ import annotations

import pytest

from tests.conftest import Gateway

SHAPES = {
    # the page writing its rows' JSON (each conversation's segments a correlated subquery, with
    # their agents, teams, customers and their assessments, supervisors, another) + the count
    "conversation tree": (
        """{ conversations(first: 50) { totalCount nodes { conversationId
            segments(first: 20) { nodes { segmentId
              agent { fullName team { name } }
              customer { name }
              assessments(first: 10) { nodes { score supervisor { name } } } } } } } }""",
        2,
    ),
    # the agents page writing its rows' JSON: teams and departments joined, each agent's
    # segments page and its count, and conversations page, correlated subqueries
    "agents with work": (
        """{ agents(first: 50) { nodes { agentId team { name department { name } }
            segments(first: 5, filter: {kind: {eq: CONVERSATION}}) { totalCount nodes { queueTime } }
            conversations(first: 3) { nodes { conversationId } } } } }""",
        1,
    ),
    # segments page (precededBy joined), conversation, case, campaign, project, initiative,
    # followedBy
    "segment hierarchy": (
        """{ segments(first: 100) { nodes { segmentId
            case { name } campaign { name } project { name } initiative { name }
            precededBy { segmentId } followedBy { segmentId } } } }""",
        7,
    ),
    # the queues page writing its rows' JSON: each queue's segments page (each segment's
    # workload page within) and count, and its conversations count, correlated subqueries
    "queues": (
        """{ queues(first: 20) { nodes { name
            segments(first: 10) { totalCount nodes { workload(first: 4) { nodes { talkTime } } } }
            conversations { totalCount } } } }""",
        1,
    ),
    # the same on the object path: queues, segments page + count, conversations count
    "queues, a directive": (
        """query ($yes: Boolean = true) { queues(first: 20) { nodes { name @include(if: $yes)
            segments(first: 10) { totalCount nodes { workload(first: 4) { nodes { talkTime } } } }
            conversations { totalCount } } } }""",
        4,
    ),
}


async def _statements(gw: Gateway, query: str) -> int:
    with gw.counting() as statements:
        await gw.query(query)
    return len(statements)


@pytest.mark.parametrize("shape", SHAPES)
async def test_statement_count_is_fixed_by_the_shape(
    gw: Gateway, gw_large: Gateway, shape: str
) -> None:
    query, expected = SHAPES[shape]
    small = await _statements(gw, query)
    large = await _statements(gw_large, query)
    assert small == large == expected


async def test_the_large_database_really_returns_more_rows(gw: Gateway, gw_large: Gateway) -> None:
    """Guards the test above: with equal row counts it would prove nothing."""
    query = "{ segments(first: 1) { totalCount } conversations(first: 1) { totalCount } }"
    small, large = await gw.query(query), await gw_large.query(query)
    assert large["segments"]["totalCount"] > 2 * small["segments"]["totalCount"]


async def test_nodes_batch_per_type(gw: Gateway) -> None:
    data = await gw.query("{ segments(first: 60) { nodes { id agent { id } } } }")
    ids = [n["id"] for n in data["segments"]["nodes"]]
    ids += [n["agent"]["id"] for n in data["segments"]["nodes"] if n["agent"]]
    with gw.counting() as statements:
        result = await gw.query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids[:100]}
        )
    assert [n["id"] for n in result["nodes"]] == ids[:100]
    assert len(statements) == 2  # one per type: segments and agents
