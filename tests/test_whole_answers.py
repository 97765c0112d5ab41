"""Documents the database answers whole (`schema/whole_answers.py`) answer like GraphQL does.

Generated documents (one to three root connections, aliases, `__typename`, fragments, directives,
filters, orders, `first`/`last`, variables, page sizes over the cap, nested connections, and
`edges`, page info and counts that keep the GraphQL path) run through GraphQL with objects (the JSON path off); when
the whole answer learned from the JSON path's run answers, its data must be the same, key order
included. Then the cases that must and must not be answered whole, over HTTP with statement counts.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import Context, Options
from resolvers.viewer import Viewer
from schema import whole_answers
from schema.whole_answers import WholeAnswers
from tests.conftest import SCHEMA, Gateway, Viewers
from tests.test_json_rows import (
    DIRECTIVES,
    GRAPHQL,
    ROOTS,
    Variables,
    declared,
    edges,
    metrics_selection,
    page_arguments,
    page_info,
    page_rows,
    selection,
    values,
)
from warehouse.direct_reads import APPLICATION_NAME, DirectReader, DirectReadError, direct_reader
from warehouse.engine import sync_engines

METRIC_ROOTS = [(r, t) for r, t in ROOTS if "metrics" in GRAPHQL.type_map[t].fields]  # type: ignore[union-attr]


@st.composite
def root_field(draw: st.DrawFn, alias: str, fragments: list[str], variables: Variables) -> str:
    """One root connection, mostly `nodes` or `edges` (and page info) of stored values and links
    (the whole path), else anything the JSON rows' tests generate; its page size, and arguments
    of what it nests, sometimes variables."""
    root, node_type = draw(st.sampled_from(ROOTS))
    way = draw(st.sampled_from(["nodes", "edges", "edges", "any", "count", "metrics"]))
    if way == "metrics":  # a dashboard: entities with their metrics
        root, node_type = draw(st.sampled_from(METRIC_ROOTS))
        inner = draw(selection(node_type, 1, fragments, variables, directives=False))
        measured = draw(metrics_selection(variables, directives=False))
        body = f"nodes {{ {inner} board: metrics{measured} }}"
    elif way == "any":
        body = draw(page_rows(node_type, 0, fragments, variables))
    elif way == "count":  # no rows read
        body = draw(st.sampled_from(["totalCount", "n: totalCount __typename"]))
    else:
        depth = draw(st.sampled_from([0, 1, 1]))  # 1: no nested connections
        inner = draw(selection(node_type, depth, fragments, variables))
        body = f"nodes {{ {inner} }}" if way == "nodes" else draw(edges(inner))
        if draw(st.booleans()):
            body += draw(page_info())
        if draw(st.booleans()):
            body = f"__typename {body}" if draw(st.booleans()) else f"{body} __typename"
        if draw(st.booleans()):
            count = draw(st.sampled_from(["totalCount", "n: totalCount"]))
            body = f"{count} {body}" if draw(st.booleans()) else f"{body} {count}"
    arguments = draw(page_arguments(node_type, [*range(1, 9), 500]))
    if draw(st.booleans()):
        name = f"size{alias}"
        size = arguments.split(",")[0].split(": ")[1]
        arguments = arguments.replace(f": {size}", f": ${name}", 1)
        variables[name] = ("Int!", int(size))
    directive = draw(st.sampled_from(DIRECTIVES))
    return f"r{alias}: {root}({arguments}){directive} {{ {body} }}"


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    fragments: list[str] = []
    fields: list[str] = []
    variables: Variables = {}
    for index in range(draw(st.integers(1, 3))):
        fields.append(draw(root_field(str(index), fragments, variables)))
    if draw(st.integers(0, 4)) == 0:
        fields.insert(draw(st.integers(0, len(fields))), "__typename")
    body = f"{{ {' '.join(fields)} }} {' '.join(fragments)}"
    declarations = declared(variables) + [
        f"${name}: Boolean = {value}"
        for name, value in (("yes", "true"), ("no", "false"))
        if f"${name}" in body
    ]
    document = f"query ({', '.join(declarations)}) {body}" if declarations else f"query {body}"
    return document, values(variables)


def context(engine: AsyncEngine, viewer: Viewer, json_rows: bool = True) -> Context:
    return Context(engine=engine, viewer=viewer, options=Options(json_rows=json_rows))


async def learned(
    engine: AsyncEngine, whole: WholeAnswers, viewer: Viewer, document: str, variables: Any
) -> Any:
    """Run the document through GraphQL's JSON path twice and offer each answer to `whole` as
    the endpoint does (only an answer without errors: the second is learned); the result."""
    for _ in range(2):
        ctx = context(engine, viewer)
        result = await SCHEMA.execute(document, variable_values=variables, context_value=ctx)
        if not result.errors and result.data is not None:
            whole.learn(ctx, document, None, variables)
    return result


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=documents(), role=st.sampled_from(["admin", "supervisor", "agent"]))
async def test_whole_answers_answer_like_graphql(
    small_engine: AsyncEngine, viewers: Viewers, case: tuple[str, dict[str, Any]], role: str
) -> None:
    document, variables = case
    viewer = getattr(viewers, role)
    whole = WholeAnswers(GRAPHQL)
    first = await learned(small_engine, whole, viewer, document, variables)
    body = await whole.answer(context(small_engine, viewer), document, None, variables)
    if body is None:
        return
    # the second answer runs compiled on PostgreSQL's direct reader; the same text
    assert await whole.answer(context(small_engine, viewer), document, None, variables) == body
    assert not first.errors, document
    built = await SCHEMA.execute(
        document, variable_values=variables, context_value=context(small_engine, viewer, False)
    )
    assert not built.errors, document
    # as sent: keys in the document's order, `true` is not `1`, `3.0` is not `3`
    assert json.dumps(json.loads(body)["data"]) == json.dumps(built.data), document


AGENTS = """query Agents { agents(first: 100) { nodes { id agentId fullName
  team { name department { name } } } } }"""

WHOLE = {
    "agents with team and department": (AGENTS, None),
    "several roots, aliases, type names, last, a filter, a variable": (
        """query ($n: Int!) { __typename
          latest: conversations(last: $n, orderBy: [{field: STARTED_AT, direction: ASC}]) {
            __typename nodes { id conversationId startedAt direction } }
          queues(first: 5, filter: {name: {isNull: false}}) { nodes { name } } }""",
        {"n": 7},
    ),
    "conversations with their segments, agents, teams, customers": (
        """{ conversations(first: 50, orderBy: [{field: STARTED_AT, direction: DESC}]) {
             nodes { conversationId startedAt
               segments(first: 20) { __typename nodes { segmentId kind queue
                 agent { agentId team { name } } customer { customerId } } } } } }""",
        None,
    ),
    "edges, page info, last, nested edges": (
        """{ conversations(last: 4, orderBy: [{field: STARTED_AT, direction: DESC}]) {
             pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
             edges { __typename c: cursor node { conversationId
               segments(first: 2) { e: edges { cursor node { segmentId } }
                 pageInfo { hasNextPage endCursor } } } } } }""",
        None,
    ),
    "date dimensions, a time zone given": (
        """{ segments(first: 30, orderBy: [{field: STARTED_AT, direction: DESC}]) {
             nodes { date { __typename date week weekYear dayOfWeekName time }
               local: date(timeZone: "Australia/Lord_Howe") { date hour interval15Minutes }
               conversation { date { monthName quarter } } } } }""",
        None,
    ),
    "a count alone, a filter with a variable": (
        """query ($from: DateTime!) { __typename long: segments(filter: {and: [
             {kind: {eq: QUEUE}}, {queueTime: {gt: 120}}, {startedAt: {gte: $from}}]}) {
               totalCount __typename } }""",
        {"from": "2026-03-27T00:00:00Z"},
    ),
    "counts of root pages, a filter": (
        """{ agents(first: 3) { nodes { agentId } totalCount }
             queued: segments(first: 2, filter: {kind: {eq: QUEUE}}) { n: totalCount
               edges { cursor node { segmentId } } } }""",
        None,
    ),
    "nested counts, alone and beside their rows": (
        """{ conversations(first: 5, orderBy: [{field: STARTED_AT, direction: DESC}]) {
             nodes { conversationId n: segments { totalCount }
               segments(first: 2, filter: {kind: {eq: QUEUE}}) { totalCount __typename
                 nodes { segmentId } } } }
           teams(first: 3) { nodes { name agents { totalCount } } } }""",
        None,
    ),
    "a board of teams with their metrics": (
        """query ($from: DateTime!, $to: DateTime!) { teams(first: 50) { nodes { name
             department { name } metrics(from: $from, to: $to) { __typename
               handledConversations averageHandlingTime talkTime
               sla: serviceLevel(slaThreshold: 20) workloadTalkTime assessments } } } }""",
        {"from": "2026-03-27T00:00:00Z", "to": "2026-03-29T00:00:00Z"},
    ),
    "segments with their links, fragments": (
        """{ segments(first: 20, orderBy: [{field: STARTED_AT, direction: DESC}]) {
             nodes { ...S } } } fragment S on Segment { segmentId kind inBusinessHours
             talkTime agent { agentId team { name } } customer { customerId } }""",
        None,
    ),
}

NOT_WHOLE = {
    "a directive": "{ agents(first: 3) @include(if: true) { nodes { agentId } } }",
    "a field error": "{ agents(first: 5000) { nodes { agentId } } }",
}


async def post(client: httpx.AsyncClient, document: str, variables: Any = None) -> Any:
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("case", sorted(WHOLE))
async def test_a_repeated_document_is_one_statement(
    client: httpx.AsyncClient, gw: Gateway, case: str
) -> None:
    """From the third request on, a document is the one statement that writes its answer."""
    document, variables = WHOLE[case]
    objects = Gateway(gw.engine, Options(json_rows=False))
    expected = await objects.query(document, variables)
    for _ in range(2):  # GraphQL answers, then its statement is learned
        assert await post(client, document, variables) == {"data": expected}
    with gw.counting() as statements:
        assert await post(client, document, variables) == {"data": expected}
    assert len(statements) == 1, statements
    function = "json_agg" if gw.engine.dialect.name == "postgresql" else "json_group_array"
    reads_rows = "nodes" in document or "edges" in document
    assert (function in statements[0]) == reads_rows  # a count alone reads no rows


@pytest.mark.parametrize("case", sorted(NOT_WHOLE))
async def test_other_documents_keep_graphql(
    client: httpx.AsyncClient, gw: Gateway, case: str
) -> None:
    document = NOT_WHOLE[case]
    first = await post(client, document)
    assert await post(client, document) == first
    assert ("errors" in first) == (case == "a field error"), first
    with gw.counting() as statements:
        assert await post(client, document) == first
    assert not any("json_group_array" in s or "json_agg" in s for s in statements)


async def test_the_key_holds_variables_and_viewer(small_engine: AsyncEngine) -> None:
    """A learned statement answers its own variables and viewer only; a root page's size given
    as a variable is bound (checked against the cap at each request), not keyed, and so is an
    `in` list (keyed by whether it has one element)."""
    document = """query ($n: Int, $s: [String!]) { agents(first: $n,
      filter: {fullName: {notIn: $s}}) { nodes { agentId } } }"""
    whole = WholeAnswers(GRAPHQL)
    admin, nobody = Viewer.system(), Viewer.nobody()

    async def ask(viewer: Viewer, **variables: Any) -> Any:
        answer = await whole.answer(context(small_engine, viewer), document, None, variables)
        return None if answer is None else json.loads(answer)["data"]["agents"]["nodes"]

    await learned(small_engine, whole, admin, document, {"n": 2, "s": ["a"]})
    assert len(await ask(admin, n=2, s=["a"])) == 2
    assert len(await ask(admin, n=3, s=["a"])) == 3  # the size is bound
    assert await ask(admin, n=500, s=["a"]) is None  # over the cap: GraphQL's error
    assert await ask(admin, n=None, s=["a"]) is None  # the default: another statement
    assert len(await ask(admin, n=2, s=["b"])) == 2  # an `in` list is bound: one element
    assert await ask(admin, n=2, s=["a", "b"]) is None  # or any other length: another statement
    assert await ask(nobody, n=2, s=["a"]) is None
    await learned(small_engine, whole, nobody, document, {"n": 2, "s": ["a"]})
    assert await ask(nobody, n=2, s=["a"]) == []


async def test_a_failing_statement_is_forgotten(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outage (or a statement gone wrong) answers nothing here: GraphQL's path answers and
    reports it; the statement is learned again after the next good answer."""
    whole = WholeAnswers(GRAPHQL)
    admin = Viewer.system()
    await learned(small_engine, whole, admin, AGENTS, None)

    async def down(*_: Any) -> Any:
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    async def direct_down(*_: Any) -> Any:
        raise DirectReadError("ConnectionRefusedError: connection refused")

    def inline_down(*_: Any) -> Any:
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr("schema.whole_answers.run_scalar", down)
    monkeypatch.setattr("schema.whole_answers.read_in_thread", down)
    monkeypatch.setattr("schema.whole_answers.scalar_inline", inline_down)
    monkeypatch.setattr(DirectReader, "value", direct_down)
    assert await whole.answer(context(small_engine, admin), AGENTS, None, None) is None
    monkeypatch.undo()
    assert await whole.answer(context(small_engine, admin), AGENTS, None, None) is None
    await learned(small_engine, whole, admin, AGENTS, None)
    assert await whole.answer(context(small_engine, admin), AGENTS, None, None) is not None


async def test_postgresql_answers_on_the_direct_reader(small_engine: AsyncEngine) -> None:
    """On PostgreSQL a learned statement runs on the engine's asyncpg pool, not SQLAlchemy's,
    and is counted like any statement; SQLite keeps SQLAlchemy's thread reader."""
    whole = WholeAnswers(GRAPHQL)
    admin = Viewer.system()
    await learned(small_engine, whole, admin, AGENTS, None)
    # its first answer goes through SQLAlchemy; the statement is compiled at the second
    assert await whole.answer(context(small_engine, admin), AGENTS, None, None) is not None
    checkouts: list[object] = []
    statements: list[str] = []

    def checkout(*_: Any) -> None:
        checkouts.append(_)

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    targets = sync_engines(small_engine)
    event.listen(small_engine.sync_engine.pool, "checkout", checkout)
    for target in targets:
        event.listen(target, "before_cursor_execute", statement)
    try:
        answer = await whole.answer(context(small_engine, admin), AGENTS, None, None)
    finally:
        event.remove(small_engine.sync_engine.pool, "checkout", checkout)
        for target in targets:
            event.remove(target, "before_cursor_execute", statement)
    assert answer is not None and json.loads(answer)["data"]["agents"]["nodes"]
    assert len(statements) == 1
    direct = small_engine.dialect.name == "postgresql"
    assert (direct_reader(small_engine) is not None) == direct
    # no checkout of the engine's pool: PostgreSQL reads on the direct pool, SQLite on the
    # thread reader's
    assert checkouts == []
    if direct:
        assert "json_agg" in statements[0]


async def test_a_dropped_direct_connection_costs_at_most_one_graphql_answer(
    small_engine: AsyncEngine,
) -> None:
    """The server ending the direct pool's connections (restart, failover, an administrator) is
    at most an outage of one request: the pool notices a closed connection and opens another,
    or the read fails and GraphQL answers; either way the statement works again."""
    reader = direct_reader(small_engine)
    if reader is None:
        assert small_engine.dialect.name == "sqlite"
        return
    whole = WholeAnswers(GRAPHQL)
    admin = Viewer.system()
    await learned(small_engine, whole, admin, AGENTS, None)
    for _ in range(2):  # through SQLAlchemy, then on the direct reader
        before = await whole.answer(context(small_engine, admin), AGENTS, None, None)
        assert before is not None
    async with small_engine.connect() as conn:
        ended = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": APPLICATION_NAME},
        )
    assert ended
    after = await whole.answer(context(small_engine, admin), AGENTS, None, None)
    assert after in (None, before)
    if after is None:  # forgotten: learned again from GraphQL's answers
        await learned(small_engine, whole, admin, AGENTS, None)
    for _ in range(2):
        assert await whole.answer(context(small_engine, admin), AGENTS, None, None) == before


def spy(monkeypatch: pytest.MonkeyPatch, name: str, argument: int) -> list[Any]:
    """The `argument`-th argument of each call to `schema.whole_answers.<name>`, which still
    runs."""
    calls: list[Any] = []
    real = getattr(whole_answers, name)

    def counting(*args: Any) -> Any:
        calls.append(args[argument])
        return real(*args)

    monkeypatch.setattr(whole_answers, name, counting)
    return calls


async def test_variables_seen_once_build_no_statement(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard sliding its time window sends new variables every time: building a statement
    for each would cost about as much again as its GraphQL answer, for nothing. A document is
    learned when the same key comes back."""
    built = spy(monkeypatch, "whole_statement", 3)
    # a value the key holds (a list of enums: converted before SQL, not bound at each read)
    document = """query ($k: [SegmentKind!]) { segments(first: 50, filter: {kind: {in: $k}}) {
      nodes { segmentId kind } } }"""
    whole = WholeAnswers(GRAPHQL)
    admin = Viewer.system()
    kinds = ["CONVERSATION", "QUEUE", "AGENT_STATUS"]
    lists = [[k] for k in kinds] + [kinds[:2], kinds[1:]]

    async def answered(k: list[str]) -> None:
        ctx = context(small_engine, admin)
        result = await SCHEMA.execute(document, variable_values={"k": k}, context_value=ctx)
        assert not result.errors
        whole.learn(ctx, document, None, {"k": k})

    for k in lists:
        await answered(k)
        assert await whole.answer(context(small_engine, admin), document, None, {"k": k}) is None
    assert built == []
    await answered(lists[2])  # it came back
    assert built == [{"k": lists[2]}]
    answer = await whole.answer(context(small_engine, admin), document, None, {"k": lists[2]})
    assert answer is not None
    found = [node["kind"] for node in json.loads(answer)["data"]["segments"]["nodes"]]
    assert found and set(found) == set(lists[2])


async def test_a_document_never_whole_costs_no_coercion(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until a statement is learned for a document, its requests skip the whole answer's
    variable coercion (GraphQL coerces them anyway); once one is, they coerce to find theirs."""
    coerced = spy(monkeypatch, "get_variable_values", 2)
    whole = WholeAnswers(GRAPHQL)
    admin = Viewer.system()
    directive = """query ($n: Int, $yes: Boolean!) { agents(first: $n) @include(if: $yes) {
      nodes { agentId } } }"""
    for _ in range(4):
        await learned(small_engine, whole, admin, directive, {"n": 2, "yes": True})
        answer = await whole.answer(
            context(small_engine, admin), directive, None, {"n": 2, "yes": True}
        )
        assert answer is None
    asked = len(coerced)  # learning coerces to build its key
    for n in range(1, 4):
        ctx = context(small_engine, admin)
        assert await whole.answer(ctx, directive, None, {"n": n, "yes": True}) is None
    assert len(coerced) == asked
    plain = "query ($n: Int) { agents(first: $n) { nodes { agentId } } }"
    await learned(small_engine, whole, admin, plain, {"n": 2})
    asked = len(coerced)
    assert await whole.answer(context(small_engine, admin), plain, None, {"n": 3}) is not None
    assert len(coerced) == asked + 1
