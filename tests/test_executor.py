"""The fast executor (`schema/executor.py`) answers exactly like graphql-core's own.

Each document runs twice, on the gateway's schema and on the same schema with graphql-core's
executor: data, errors and error paths must be equal. A small schema of its own covers what the
warehouse never produces (nulls where null is not allowed, values that fail to serialize,
resolvers that raise), and the statement counts show the prefetch batches by level.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from typing import Any

import pytest
import strawberry

from resolvers.context import Context, Options
from resolvers.pagination import CURSOR_ARGUMENTS, PAGE_ARGUMENTS
from resolvers.viewer import Role, Viewer
from schema import build_schema
from schema.executor import Executor, Later, settle
from schema.sources import FieldSource, declare
from tests.conftest import SCHEMA, Gateway
from tests.helpers import rows

REFERENCE = build_schema(executor=None)

NESTED = """
{ conversations(first: 6, orderBy: [{field: STARTED_AT, direction: DESC}]) {
    nodes { conversationId direction startedAt
      segments(first: 50) { nodes {
        segmentId kind startedAt queue talkTime
        agent { agentId fullName }
        customer { customerId name } } } } } }
"""

ALIASES = """
{ conversations(first: 4, orderBy: [{field: STARTED_AT, direction: ASC}]) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { conversationId date { date year quarter }
      a: segments(first: 1) { totalCount nodes { segmentId
        agent { fullName team { name department { name } } } } }
      b: segments(last: 2) {
        edges { cursor node { segmentId customer { name } case { caseId } } }
        pageInfo { startCursor hasPreviousPage } }
      segments(first: 3) { nodes { kind } }
      segments(first: 3) { nodes { queue precededBy { segmentId } } } } } } }
"""

FRAGMENTS = """
query ($withAgent: Boolean!, $n: Int) {
  conversations(first: $n) { nodes { ...C } }
}
fragment C on Conversation {
  conversationId
  segments(first: 2) { nodes {
    segmentId
    agent @include(if: $withAgent) { agentId }
    ... on Segment { customer @skip(if: $withAgent) { customerId } }
    __typename
  } }
}
"""

FILTERED = """
{ agents(first: 3, orderBy: [{field: AGENT_ID}]) { nodes { agentId
    segments(first: 2, filter: {kind: {eq: CONVERSATION}}, orderBy: [{field: TALK_TIME, direction: DESC}]) {
      totalCount nodes { segmentId talkTime conversation { conversationId customer { name } } } }
    assessments(first: 2) { nodes { score segment { segmentId } } } } } }
"""

ERRORS = [
    # arguments that fail at every parent: one error per occurrence, at its path
    "{ conversations(first: 3) { nodes { conversationId segments(first: 1000) { nodes { segmentId } } } } }",
    '{ conversations(first: 3) { nodes { segments(after: "not a cursor") { nodes { segmentId } } } } }',
    '{ conversations(first: 2, after: "bm9wZQ==") { nodes { conversationId } } }',
    "{ agents(first: 2) { nodes { segments(first: 2, orderBy: [{field: TALK_TIME}], last: 1) { nodes { segmentId } } } } }",
]


async def both(
    gw: Gateway, query: str, variables: dict[str, Any] | None = None, viewer: Viewer | None = None
) -> tuple[Any, Any]:
    def context() -> Context:
        return Context(engine=gw.engine, options=gw.options, viewer=viewer or gw.viewer)

    ours = await SCHEMA.execute(query, variable_values=variables, context_value=context())
    reference = await REFERENCE.execute(query, variable_values=variables, context_value=context())
    return ours, reference


def assert_same(ours: Any, reference: Any) -> None:
    """Equal data and errors; the order of errors follows async timing, so it is not compared."""
    assert ours.data == reference.data

    def errors(result: Any) -> list[Any]:
        return sorted((e.formatted for e in result.errors or []), key=repr)

    assert errors(ours) == errors(reference)


@pytest.mark.parametrize(
    "query", [NESTED, ALIASES, FILTERED], ids=["nested", "aliases", "filtered"]
)
async def test_pages_answer_like_graphql_core(gw: Gateway, query: str) -> None:
    ours, reference = await both(gw, query)
    assert ours.errors is None, ours.errors
    assert_same(ours, reference)


@pytest.mark.parametrize("with_agent", [True, False])
async def test_fragments_and_directives_answer_like_graphql_core(
    gw: Gateway, with_agent: bool
) -> None:
    ours, reference = await both(gw, FRAGMENTS, {"withAgent": with_agent, "n": 5})
    assert ours.errors is None, ours.errors
    assert_same(ours, reference)
    segment = ours.data["conversations"]["nodes"][0]["segments"]["nodes"][0]
    assert ("agent" in segment) is with_agent and ("customer" in segment) is not with_agent


METRICS = [
    # report keys (values, enums, an entity) and metrics (aliases, thresholds) per row
    """{ report(groupBy: [QUEUE, DIRECTION, KIND, HOUR, AGENT], first: 30,
         orderBy: [{metric: HANDLED_CONVERSATIONS, direction: DESC}]) {
      totalRows rows { key { queue direction kind hour agent { agentId } }
        metrics { handled: handledConversations conversations serviceLevel(slaThreshold: 30)
          sl: serviceLevel p: speedOfAnswerPercentile(percentile: 0.9) averageQueueTime } }
      total { conversations serviceLevel } } }""",
    # metrics of a page's entities
    """{ queues(first: 4) { nodes { name
      metrics { a: conversations averageHandlingTime conversations } } }
      teams(first: 3) { nodes { name metrics { talkTime shortAbandonedConversations(shortAbandonThreshold: 5) } } } }""",
]


@pytest.mark.parametrize("query", METRICS, ids=["report", "entity metrics"])
async def test_metrics_answer_like_graphql_core(gw: Gateway, query: str) -> None:
    ours, reference = await both(gw, query)
    assert ours.errors is None, ours.errors
    assert_same(ours, reference)


async def test_report_rows_take_the_bound_lane(gw: Gateway) -> None:
    """Guards the test above: a report's keys and metrics are bound fields (each row's ~10
    values through Strawberry's resolver wrapper was most of the intraday report's CPU)."""
    seen: set[str] = set()

    class Spy(Executor):
        def _complete(self, parent_type: Any, step: Any, *args: Any) -> Any:
            seen.add(f"{parent_type.name}.{step.name}:{step.lane.name}")
            return super()._complete(parent_type, step, *args)

    schema = build_schema(executor=Spy)
    context = Context(engine=gw.engine, options=gw.options, viewer=gw.viewer)
    result = await schema.execute(METRICS[0], context_value=context)
    assert result.errors is None, result.errors
    assert {"ReportKey.queue:BOUND", "ReportKey.direction:BOUND", "Metrics.handled:BOUND"} <= seen


@pytest.mark.parametrize("query", ERRORS)
async def test_errors_and_their_paths_are_graphql_cores(gw: Gateway, query: str) -> None:
    ours, reference = await both(gw, query)
    assert ours.errors, "expected errors"
    assert_same(ours, reference)


async def test_row_scope_holds_on_the_fast_path(gw: Gateway) -> None:
    (me,) = await rows(
        gw.engine,
        "SELECT agent_id FROM segments WHERE agent_id IS NOT NULL GROUP BY agent_id "
        "ORDER BY count(*) DESC, agent_id LIMIT 1",
    )
    viewer = Viewer(Role.AGENT, "agent-user", agent_id=me["agent_id"])
    ours, reference = await both(gw, NESTED.replace("first: 6", "first: 20"), viewer=viewer)
    assert ours.errors is None, ours.errors
    assert_same(ours, reference)
    agents = {
        s["agent"]["agentId"]
        for c in ours.data["conversations"]["nodes"]
        for s in c["segments"]["nodes"]
        if s["agent"] is not None
    }
    assert agents <= {me["agent_id"]}


async def test_nested_page_loads_one_statement_per_level(gw: Gateway) -> None:
    """The page with each conversation's segments, their agents and customers (correlated
    subqueries): one statement, for a scoped viewer too (its links and pages keep the rows
    it may see). On the object path a scoped viewer's links go through their loaders: four."""
    document = NESTED.replace("first: 6", "first: 40")
    with gw.counting() as statements:
        data = await gw.query(document)
    segments = [s for c in data["conversations"]["nodes"] for s in c["segments"]["nodes"]]
    assert len(segments) > 40 and any(s["agent"] for s in segments)
    assert len(statements) == 1, statements
    assert "FROM agents" in statements[0] and "FROM customers" in statements[0]
    (me,) = await rows(gw.engine, "SELECT agent_id FROM agents ORDER BY agent_id LIMIT 1")
    agent = Viewer(Role.AGENT, "agent-user", agent_id=me["agent_id"])
    scoped = Gateway(gw.engine, viewer=agent)
    with scoped.counting() as statements:
        answered = await scoped.query(document)
    assert len(statements) == 1, statements
    objects = Gateway(gw.engine, Options(json_rows=False), viewer=agent)
    with objects.counting() as statements:
        assert await objects.query(document) == answered
    assert len(statements) == 4, statements


# --- a schema of its own: what the warehouse never produces ----------------------------------


def _bound_double(ctx: Any, field_nodes: Any, fragments: Any, factor: int = 2) -> Any:
    if factor < 0:
        raise ValueError("factor must not be negative")

    def resolve(item: Any) -> Any:
        if item.id == 3:
            raise ValueError(f"no double for {item.id}")
        future = asyncio.get_running_loop().create_future()
        future.set_result(item.id * factor)
        return Later(future, lambda value: value + 0) if item.id % 2 else item.id * factor

    return resolve


async def double(root: Any, factor: int = 2) -> int | None:
    return await settle(_bound_double(None, [], {}, factor)(root))  # type: ignore[no-any-return]


declare(double, FieldSource(needs=(), bind=_bound_double))


@strawberry.type
class Item:
    id: int
    name: str  # non-null, but item 2 has none
    score: int | None  # item 4 holds a string
    double: int | None = strawberry.field(resolver=double)

    @strawberry.field
    def boom(self) -> int:
        raise RuntimeError(f"boom {self.id}")

    @strawberry.field
    async def slow(self) -> int:  # pending while later items complete
        await asyncio.sleep(0)
        return self.id

    @strawberry.field
    def children(self) -> list[Item]:
        return [Item(id=self.id * 10 + i, name=f"c{i}", score=i) for i in (1, 2)]  # type: ignore[call-arg]


def _items() -> list[Item]:
    return [
        Item(id=1, name="one", score=1),  # type: ignore[call-arg]
        Item(id=2, name=None, score=2),  # type: ignore[arg-type, call-arg]
        Item(id=3, name="three", score=3),  # type: ignore[call-arg]
        Item(id=4, name="four", score="x"),  # type: ignore[arg-type, call-arg]
    ]


@strawberry.type
class Box:
    items: list[Item]  # a plain attribute: the executor completes its list itself


@strawberry.type
class ToyQuery:
    @strawberry.field
    def box(self) -> Box:
        return Box(items=_items())

    @strawberry.field
    def items(self) -> list[Item | None]:
        return _items()  # type: ignore[return-value]

    @strawberry.field
    def strict_items(self) -> list[Item]:
        return _items()


TOY = strawberry.Schema(ToyQuery, execution_context_class=Executor)
TOY_REFERENCE = strawberry.Schema(ToyQuery)

TOY_DOCUMENTS = [
    "{ items { id score double children { id double(factor: 3) } } }",
    "{ items { id name } }",  # null in a non-null field nulls the item
    "{ strictItems { id name } }",  # ...and the whole list when items are non-null
    "{ items { id boom } }",
    "{ items { id double(factor: -1) } }",  # binding fails: graphql-core's path, per item
    "{ items { score } strictItems { id score } }",  # "x" is no Int
    "{ box { items { slow name } } }",  # item 2 fails the list while item 1 is pending
    "{ box { items { children { slow } name } } }",
]


@pytest.mark.parametrize("document", TOY_DOCUMENTS)
async def test_error_propagation_matches_graphql_core(document: str) -> None:
    ours = await TOY.execute(document)
    reference = await TOY_REFERENCE.execute(document)
    assert_same(ours, reference)


@pytest.mark.parametrize("document", TOY_DOCUMENTS)
async def test_a_failing_list_leaves_no_coroutine_unawaited(
    document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When an item fails the whole list, the items still pending are settled (as graphql-core
    settles them), not dropped: a dropped coroutine never runs its `finally` and warns."""
    # the log records pytest keeps would hold the errors' frames (and the coroutines) alive
    monkeypatch.setattr(logging.getLogger("strawberry.execution"), "disabled", True)
    gc.collect()  # what earlier tests left
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await TOY.execute(document)
        for _ in range(3):  # settled in the background: let them run
            await asyncio.sleep(0)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_the_toy_schema_takes_the_fast_lanes() -> None:
    """Guards the test above: it must exercise the fast lanes, not only graphql-core's."""
    seen: list[str] = []

    class Spy(Executor):
        def _complete(self, parent_type: Any, step: Any, *args: Any) -> Any:
            seen.append(f"{parent_type.name}.{step.name}:{step.lane.name}")
            return super()._complete(parent_type, step, *args)

    schema = strawberry.Schema(ToyQuery, execution_context_class=Spy)
    result = await schema.execute("{ items { id double children { double } } }")
    assert result.errors and "no double for 3" in result.errors[0].message
    assert "Item.double:BOUND" in seen


async def test_arguments_converted_once_still_follow_each_requests_values(gw: Gateway) -> None:
    """Converted arguments are cached by value: other values (variables) get their own."""
    document = """query ($n: Int, $d: OrderDirection!) {
      conversations(first: $n, orderBy: [{field: STARTED_AT, direction: $d}]) {
        nodes { conversationId startedAt } } }"""
    latest = await gw.query(document, {"n": 3, "d": "DESC"})
    earliest = await gw.query(document, {"n": 5, "d": "ASC"})
    again = await gw.query(document, {"n": 3, "d": "DESC"})
    assert latest == again
    starts = [c["startedAt"] for c in earliest["conversations"]["nodes"]]
    assert len(starts) == 5 and starts == sorted(starts)
    assert len(latest["conversations"]["nodes"]) == 3
    assert latest["conversations"]["nodes"][0]["startedAt"] > starts[-1]


def test_page_arguments_are_texts_and_numbers_wherever_declared() -> None:
    """`converted_arguments` passes `first`/`after`/`last`/`before` through unconverted: that
    holds only while every field declaring them declares an `Int` (sizes) or a `String`
    (cursors): a new field with an input object there would get it raw."""
    schema = SCHEMA._schema
    found = [
        (name, str(argument.type))
        for graphql_type in schema.type_map.values()
        for field in getattr(graphql_type, "fields", {}).values()
        for name, argument in getattr(field, "args", {}).items()
        if name in PAGE_ARGUMENTS
    ]
    assert len(found) > 80  # the connections and the report's rows
    types = {(name in CURSOR_ARGUMENTS, type_text) for name, type_text in found}
    assert types == {(True, "String"), (False, "Int")}
