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
    # the admin's roots for $n = 2 and 3, their one nested plan ($n is not its argument), and
    # the agent's root and nested plans
    assert len(plans) == 5
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
