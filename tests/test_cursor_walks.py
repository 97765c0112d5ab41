"""A client walking through a connection (`after: $cursor`) is answered whole, cursors bound.

Whole answers (`schema/whole_answers.py`) key a root connection's cursor variables by which of
their sort values are null, and bind their values, decoded for that connection at each request.
Generated walks (roots, orders on one or two keys, directions, sizes, viewers) check every whole
answer equals GraphQL's object path for the same variables, and that the walk is answered whole
once each null pattern was answered twice; cursors that are not the connection's keep GraphQL's
path and its error.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import Context, Options
from resolvers.entities import ENTITIES
from resolvers.pagination import cursor_nulls, encode_cursor
from resolvers.viewer import Viewer
from schema.whole_answers import WholeAnswers
from tests.conftest import SCHEMA, Viewers
from tests.test_json_rows import GRAPHQL

# root connections, the node fields to read, and sort fields (nullable ones among them)
WALKS = {
    "agents": ("Agent", "agentId fullName team { name }", ["FULL_NAME", "MANAGER", "DATE_JOINED"]),
    "conversations": (
        "Conversation",
        "conversationId startedAt",
        ["STARTED_AT", "DIRECTION", "ENDED_AT"],
    ),
    "customers": ("Customer", "customerId name", ["NAME", "CATEGORY", "ACQUISITION_DATE"]),
}


def walk_document(root: str, fields: str) -> str:
    node_type = WALKS[root][0]
    return f"""query ($n: Int, $m: Int, $after: String, $before: String, $order: [{node_type}Order!]) {{
  page: {root}(first: $n, last: $m, after: $after, before: $before, orderBy: $order) {{
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {fields} }} }} }} }}"""


def context(engine: AsyncEngine, viewer: Viewer, json_rows: bool = True) -> Context:
    return Context(engine=engine, viewer=viewer, options=Options(json_rows=json_rows))


async def served(
    engine: AsyncEngine, whole: WholeAnswers, viewer: Viewer, document: str, variables: Any
) -> tuple[Any, bool]:
    """The data as the endpoint serves it (whole when learned, else GraphQL, then offered to
    learn), and whether it was answered whole."""
    body = await whole.answer(context(engine, viewer), document, None, variables)
    if body is not None:
        return json.loads(body)["data"], True
    ctx = context(engine, viewer)
    result = await SCHEMA.execute(document, variable_values=variables, context_value=ctx)
    assert not result.errors, result.errors
    whole.learn(ctx, document, None, variables)
    return json.loads(json.dumps(result.data)), False


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    root=st.sampled_from(sorted(WALKS)),
    keys=st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
    descending=st.lists(st.booleans(), min_size=2, max_size=2),
    size=st.integers(1, 7),
    backward=st.booleans(),
    role=st.sampled_from(["admin", "supervisor", "agent"]),
)
async def test_a_walk_is_answered_whole_like_graphql(
    small_engine: AsyncEngine,
    viewers: Viewers,
    root: str,
    keys: list[int],
    descending: list[bool],
    size: int,
    backward: bool,
    role: str,
) -> None:
    _, fields, sortable = WALKS[root]
    order = [
        {"field": sortable[k], "direction": "DESC" if d else "ASC"}
        for k, d in zip(keys, descending, strict=False)
    ]
    viewer = getattr(viewers, role)
    document = walk_document(root, fields)
    whole = WholeAnswers(GRAPHQL)
    cursor: str | None = None
    seen: dict[tuple[bool, ...] | None, int] = {}
    for _ in range(12):
        variables = {"order": order, "m" if backward else "n": size}
        variables["before" if backward else "after"] = cursor
        data, was_whole = await served(small_engine, whole, viewer, document, variables)
        objects = await SCHEMA.execute(
            document, variable_values=variables, context_value=context(small_engine, viewer, False)
        )
        assert data == objects.data, (document, variables)
        nulls = None if cursor is None else cursor_nulls(cursor)
        seen[nulls] = seen.get(nulls, 0) + 1
        # learned at a pattern's second GraphQL answer, whole from its third request on
        assert was_whole == (seen[nulls] > 2), (seen, nulls)
        info = data["page"]["pageInfo"]
        if not info["hasPreviousPage" if backward else "hasNextPage"]:
            break
        cursor = info["startCursor" if backward else "endCursor"]


AGENTS = walk_document("agents", "agentId")
BY_NAME = [{"field": "FULL_NAME", "direction": "ASC"}]


async def test_a_cursor_that_is_not_the_connections_keeps_graphqls_error(
    small_engine: AsyncEngine,
) -> None:
    """A learned walk answers only cursors of its connection and order: another order's, an
    edited one or no cursor at all is GraphQL's to refuse, with its named error."""
    admin = Viewer.system()
    whole = WholeAnswers(GRAPHQL)
    first = await served(small_engine, whole, admin, AGENTS, {"n": 2, "order": BY_NAME})
    cursor = first[0]["page"]["pageInfo"]["endCursor"]
    for _ in range(3):
        good = {"n": 2, "order": BY_NAME, "after": cursor}
        data, was_whole = await served(small_engine, whole, admin, AGENTS, good)
    assert was_whole and len(data["page"]["edges"]) == 2
    agent = ENTITIES["Agent"]
    other_order = encode_cursor(agent, (), {"agent_id": "WK0"})  # the default order's
    by_name = (("full_name", False),)
    null_key = encode_cursor(agent, by_name, {"full_name": "A", "agent_id": None})  # holds none
    number = encode_cursor(agent, by_name, {"full_name": 7, "agent_id": "x"})  # a name is a text
    for bad in (other_order, null_key, number, "bm90IGEgY3Vyc29y", "%%%"):
        variables = {"n": 2, "order": BY_NAME, "after": bad}
        assert await whole.answer(context(small_engine, admin), AGENTS, None, variables) is None
        result = await SCHEMA.execute(
            AGENTS, variable_values=variables, context_value=context(small_engine, admin)
        )
        assert result.errors and result.errors[0].extensions["code"] == "INVALID_CURSOR"


async def test_a_cursor_variable_beside_a_written_cursor_is_not_bound(
    small_engine: AsyncEngine,
) -> None:
    """`after: $c` with `before` written in the document: whole answers keep `$c`'s value in
    the key (not bound), and answer each cursor as GraphQL does."""
    admin = Viewer.system()
    everyone = await served(small_engine, WholeAnswers(GRAPHQL), admin, AGENTS,
                            {"n": 12, "order": BY_NAME})  # fmt: skip
    cursors = [edge["cursor"] for edge in everyone[0]["page"]["edges"]]
    written = AGENTS.replace("before: $before", f"before: {json.dumps(cursors[-1])}")
    document = written.replace(", $before: String", "")
    whole = WholeAnswers(GRAPHQL)
    for start in (0, 0, 0, 3, 3, 3, 6):
        variables = {"n": 12, "order": BY_NAME, "after": cursors[start]}
        data, _ = await served(small_engine, whole, admin, document, variables)
        names = [edge["cursor"] for edge in data["page"]["edges"]]
        assert names == cursors[start + 1 : -1]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sizes=st.lists(st.integers(0, 100), min_size=3, max_size=6),
    backward=st.booleans(),
    counted=st.booleans(),
    role=st.sampled_from(["admin", "supervisor", "agent"]),
)
async def test_showing_more_is_answered_whole_like_graphql(
    small_engine: AsyncEngine,
    viewers: Viewers,
    sizes: list[int],
    backward: bool,
    counted: bool,
    role: str,
) -> None:
    """A list showing more sends a larger `first` (or `last`) each time: the size is bound, so
    from its third request the document is answered whole, each answer as GraphQL's; a size
    over the cap, or none (the default), is another key (GraphQL's error, or its own
    statement). A count alone binds the same variables (it reads no page)."""
    viewer = getattr(viewers, role)
    body = "totalCount" if counted else "pageInfo { hasNextPage hasPreviousPage } nodes { agentId }"
    document = f"""query ($n: Int, $m: Int, $after: String, $before: String) {{
      page: agents(first: $n, last: $m, after: $after, before: $before,
                   orderBy: [{{field: FULL_NAME, direction: ASC}}]) {{ {body} }} }}"""
    whole = WholeAnswers(GRAPHQL)
    for index, size in enumerate(sizes):
        variables = {"m" if backward else "n": size}
        data, was_whole = await served(small_engine, whole, viewer, document, variables)
        objects = await SCHEMA.execute(
            document, variable_values=variables, context_value=context(small_engine, viewer, False)
        )
        assert data == objects.data, (document, variables)
        assert was_whole == (index >= 2)
    over = {"m" if backward else "n": 101}
    assert await whole.answer(context(small_engine, viewer), document, None, over) is None
    result = await SCHEMA.execute(
        document, variable_values=over, context_value=context(small_engine, viewer)
    )
    assert result.errors and "maximum page size" in result.errors[0].message
    assert await whole.answer(context(small_engine, viewer), document, None, {}) is None
