"""Connection plans are compiled once per document, argument values and viewer, and reused.

The schema here is built as the served app builds it (its document checker keeps each parsed
document, so a repeated document has the same field nodes). A reused plan must answer exactly as a
fresh one: other variable values or another viewer get a plan of their own, never someone else's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.fields
from gateway.limits import limit_extensions
from gateway.settings import Settings
from resolvers import pages
from resolvers.context import Context, Options
from resolvers.entities import entity
from resolvers.pagination import PageArgs, decode_seek
from resolvers.viewer import Role, Viewer
from schema import build_schema
from schema.page_plans import PlanCache
from tests.conftest import Viewers
from tests.helpers import rows

SERVED = build_schema(limit_extensions(Settings()))
DOCUMENT = """query ($n: Int, $kind: SegmentKind) {
  agents(first: $n) { nodes { agentId
    segments(first: 2, filter: {kind: {eq: $kind}}) { totalCount nodes { segmentId customer { name } } } } }
}"""
ADMIN = Viewer.system()


async def ask(engine: AsyncEngine, viewer: Viewer, **variables: Any) -> Any:
    context = Context(engine=engine, viewer=viewer)
    result = await SERVED.execute(DOCUMENT, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    return json.loads(json.dumps(result.data))


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> PlanCache:
    """A cache of the test's own."""
    cache = PlanCache()
    monkeypatch.setattr(schema.fields, "PLANS", cache)
    return cache


async def test_a_second_request_reuses_the_plans(
    small_engine: AsyncEngine, plans: PlanCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[Any] = []
    compile_filter = schema.fields.compile_filter
    monkeypatch.setattr(
        schema.fields, "compile_filter", lambda *a: compiled.append(a) or compile_filter(*a)
    )
    first = await ask(small_engine, ADMIN, n=3, kind="CONVERSATION")
    assert len(plans) == 2 and len(compiled) == 1  # the root's filter (the nested one: its request)
    assert await ask(small_engine, ADMIN, n=3, kind="CONVERSATION") == first
    assert len(plans) == 2 and len(compiled) == 1


async def test_other_values_and_viewers_get_plans_of_their_own(
    small_engine: AsyncEngine, plans: PlanCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    two, three = await ask(small_engine, ADMIN, n=2), await ask(small_engine, ADMIN, n=3)
    assert [len(d["agents"]["nodes"]) for d in (two, three)] == [2, 3]
    (me,) = await rows(small_engine, "SELECT agent_id FROM agents ORDER BY agent_id DESC LIMIT 1")
    agent = Viewer(Role.AGENT, "a", agent_id=me["agent_id"])
    mine = await ask(small_engine, agent, n=3)
    assert [a["agentId"] for a in mine["agents"]["nodes"]] == [me["agent_id"]]
    # the admin's root (its page size `$n` is bound at the read: one plan for 2 and 3), its
    # nested plan, and the agent's root and nested plans
    assert len(plans) == 4
    monkeypatch.setattr(schema.fields, "PLANS", PlanCache())  # cold: the same answers
    assert await ask(small_engine, agent, n=3) == mine
    assert await ask(small_engine, ADMIN, n=3) == three


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 6),
    kind=st.sampled_from([None, "CONVERSATION", "QUEUE", "AGENT_STATUS"]),
    role=st.sampled_from(["admin", "agent"]),
    ways=st.lists(st.booleans(), min_size=2, max_size=4),
)
async def test_warm_and_cold_plans_answer_alike(
    small_engine: AsyncEngine, n: int, kind: str | None, role: str, ways: list[bool]
) -> None:
    (me,) = await rows(small_engine, "SELECT agent_id FROM agents ORDER BY agent_id LIMIT 1")
    viewer = ADMIN if role == "admin" else Viewer(Role.AGENT, "a", agent_id=me["agent_id"])
    answers = []
    for cold in ways:
        warm = schema.fields.PLANS
        if cold:
            schema.fields.PLANS = PlanCache()
        try:
            answers.append(await ask(small_engine, viewer, n=n, kind=kind))
        finally:
            schema.fields.PLANS = warm
    assert all(answer == answers[0] for answer in answers)


NESTED_VARIABLES = """query ($n: Int, $kind: SegmentKind, $zone: String) {
  agents(first: 3) { nodes { agentId
    segments(first: $n, filter: {kind: {eq: $kind}}) { nodes { segmentId
      date(timeZone: $zone) { date hour } } } } }
}"""


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(0, 4),
    kind=st.sampled_from([None, "CONVERSATION", "QUEUE", "AGENT_STATUS"]),
    zone=st.sampled_from([None, "Asia/Kathmandu", "America/Santiago"]),
    role=st.sampled_from(["admin", "agent"]),
)
async def test_nested_variables_get_plans_of_their_own(
    small_engine: AsyncEngine, n: int, kind: str | None, zone: str | None, role: str
) -> None:
    """The root's plan holds its nested pages and date dimensions as JSON, whose arguments are
    variables here: each set of values gets its own plan (the cache stays warm across examples),
    and answers as the object path does."""
    (me,) = await rows(small_engine, "SELECT agent_id FROM agents ORDER BY agent_id LIMIT 1")
    viewer = ADMIN if role == "admin" else Viewer(Role.AGENT, "a", agent_id=me["agent_id"])
    variables = {"n": n, "kind": kind, "zone": zone}
    answers = []
    for json_rows in (True, False):
        context = Context(engine=small_engine, viewer=viewer, options=Options(json_rows=json_rows))
        result = await SERVED.execute(
            NESTED_VARIABLES, variable_values=variables, context_value=context
        )
        assert result.errors is None, result.errors
        answers.append(json.loads(json.dumps(result.data)))
    assert answers[0] == answers[1]


FILTERED = """query ($from: DateTime!) { segments(first: 4, filter: {startedAt: {gte: $from}},
  orderBy: [{field: STARTED_AT, direction: ASC}]) { nodes { segmentId startedAt } } }"""


async def test_a_filtered_pages_statement_is_built_once_per_plan(
    small_engine: AsyncEngine, viewers: Viewers
) -> None:
    """A root page with a filter (here bound at each read) or a row scope reuses its plan's
    statement; another viewer's plan has its own, and each answers its own window."""
    built = pages._scoped_page_statement
    for viewer in (viewers.admin, viewers.agent):
        answers = []
        for day in (26, 27, 28):
            before = built.cache_info()
            context = Context(engine=small_engine, viewer=viewer)
            variables = {"from": f"2026-03-{day}T00:00:00Z"}
            result = await SERVED.execute(
                FILTERED, variable_values=variables, context_value=context
            )
            assert result.errors is None, result.errors
            answers.append(result.data["segments"]["nodes"])  # type: ignore[index]
            after = built.cache_info()
            assert after.misses == before.misses + (day == 26)  # built at the first only
        assert all(
            n["startedAt"] >= f"2026-03-{d}"
            for a, d in zip(answers, (26, 27, 28), strict=True)
            for n in a
        )
        assert len({json.dumps(a) for a in answers}) == 3


WALK = """query ($first: Int, $after: String, $last: Int, $before: String, $order: [AgentOrder!]) {
  agents(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { agentId team { name } } } }"""
# nullable sort keys (`MANAGER`, attributes, `DATE_JOINED`) put nulls in cursors
AGENT_ORDER = ["FULL_NAME", "MANAGER", "LOCATION", "AGENT_ATTRIBUTE_1", "DATE_JOINED", "STATE"]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.lists(st.sampled_from(AGENT_ORDER), min_size=1, max_size=2, unique=True),
    descending=st.lists(st.booleans(), min_size=2, max_size=2),
    walk=st.integers(3, 6),
    backward=st.booleans(),
    role=st.sampled_from(["admin", "supervisor"]),
    json_rows=st.booleans(),
)
async def test_a_walk_through_the_rows_reuses_one_plan_and_statement(
    small_engine: AsyncEngine,
    viewers: Viewers,
    fields: list[str],
    descending: list[bool],
    walk: int,
    backward: bool,
    role: str,
    json_rows: bool,
) -> None:
    """A client walking a connection sends a new cursor each time: the root's plan is keyed by
    whether a cursor is given, and its statement by which of the cursor's sort values are null
    (the values are bound), so a walk builds them once per such shape, not once per page; and it
    visits the rows of one big page, in its order."""
    viewer = viewers.admin if role == "admin" else viewers.supervisor
    order = [
        {"field": f, "direction": "DESC" if d else "ASC"}
        for f, d in zip(fields, descending, strict=False)
    ]
    options = Options(json_rows=json_rows)

    async def page(**variables: Any) -> Any:
        context = Context(engine=small_engine, viewer=viewer, options=options)
        result = await SERVED.execute(
            WALK, variable_values={"order": order, **variables}, context_value=context
        )
        assert result.errors is None, result.errors
        return result.data["agents"]  # type: ignore[index]

    everyone = [n["agentId"] for n in (await page(first=100))["nodes"]]
    assert 3 <= len(everyone) < 100  # one big page holds them all
    size = max(1, len(everyone) // walk)  # a walk of several pages
    real, cache = schema.fields.PLANS, PlanCache()
    built: list[Any] = []
    build = pages._page_statement
    schema.fields.PLANS = cache
    pages._page_statement = lambda *a, **k: built.append(a) or build(*a, **k)  # type: ignore
    try:
        walked: list[str] = []
        cursor, shapes = None, set()
        ent = entity("Agent")
        spec = tuple((o["field"].lower(), o["direction"] == "DESC") for o in order)
        while True:
            if backward:
                found = await page(last=size, before=cursor)
                walked[:0] = [n["agentId"] for n in found["nodes"]]
            else:
                found = await page(first=size, after=cursor)
                walked += [n["agentId"] for n in found["nodes"]]
            info = found["pageInfo"]
            more = info["hasPreviousPage" if backward else "hasNextPage"]
            cursor = info["startCursor" if backward else "endCursor"]
            if not more:
                break
            args = PageArgs(None, None if backward else cursor, None, cursor if backward else None)
            shapes.add(decode_seek(ent, spec, args).shape)
    finally:
        schema.fields.PLANS = real
        pages._page_statement = build  # type: ignore[assignment]
    assert walked == everyone
    assert len(cache) == 2  # without a cursor, and with one
    assert len(built) <= len(shapes) + 1  # (+1: the first page's, without a cursor)


SHOW_MORE = """query ($n: Int, $m: Int) { conversations(first: $n, last: $m,
  orderBy: [{field: STARTED_AT, direction: DESC}]) {
    pageInfo { hasNextPage hasPreviousPage } nodes { conversationId } } }"""


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(
        st.tuples(st.integers(-2, 120) | st.none(), st.integers(-2, 120) | st.none()),
        min_size=2,
        max_size=6,
    ),
    role=st.sampled_from(["admin", "agent"]),
)
async def test_a_root_pages_size_is_no_part_of_its_plan(
    small_engine: AsyncEngine,
    viewers: Viewers,
    sizes: list[tuple[int | None, int | None]],
    role: str,
) -> None:
    """A list that shows more sends a larger `first` each time: a root page's size is checked
    and bound at each request, so one plan serves them all (two: `first` or `last`) and answers,
    errors included, as a plan made for that size alone."""
    viewer = getattr(viewers, role)

    async def ask_sizes(n: int | None, m: int | None) -> Any:
        context = Context(engine=small_engine, viewer=viewer)
        result = await SERVED.execute(
            SHOW_MORE, variable_values={"n": n, "m": m}, context_value=context
        )
        errors = [(e.message, e.path) for e in result.errors or ()]
        return json.loads(json.dumps(result.data)), errors

    real, cache = schema.fields.PLANS, PlanCache()
    try:
        for n, m in sizes:
            schema.fields.PLANS = cache
            warm = await ask_sizes(n, m)
            schema.fields.PLANS = PlanCache()
            assert warm == await ask_sizes(n, m)
    finally:
        schema.fields.PLANS = real
    shapes = {(n is None, m is None) for n, m in sizes}
    assert len(cache) <= len(shapes)
