"""Reports answered whole (`schema/report_answers.py`) answer like GraphQL does.

Generated report documents (dimensions of every kind, entity keys among them, time ranges open or
closed, time zones, filters, orders by metric or dimension, page sizes, metrics of several data
sets and thresholds, every part of the selection, every role) run through GraphQL; when the whole
answer learned from them answers, its data must be the same, key order included. Then the counts:
a wallboard's report is one statement; what the JSON cannot write keeps GraphQL's path.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.metrics.catalog import CATALOG
from schema.whole_answers import WholeAnswers
from tests.conftest import Gateway, Viewers
from tests.test_json_rows import GRAPHQL, METRICS_TYPE, MOMENTS, THRESHOLD_VALUES, TIME_ZONES
from tests.test_whole_answers import context, learned, post

VALUES = ["QUEUE", "CHANNEL", "DIRECTION", "KIND", "ACTIVITY", "WORKFLOW", "OUTCOME"]
TIMES = ["DATE", "YEAR", "QUARTER", "MONTH", "WEEK", "DAY_OF_WEEK", "HOUR",
         "INTERVAL_30_MINUTES", "INTERVAL_15_MINUTES"]  # fmt: skip
ENTITIES = ["AGENT", "TEAM", "CUSTOMER"]  # their keys keep the GraphQL path
KEY_FIELDS = {
    name: "".join(p.capitalize() if i else p for i, p in enumerate(name.lower().split("_")))
    for name in VALUES + TIMES
}
ORDERABLE = sorted(n for n, f in METRICS_TYPE.fields.items() if "percentile" not in f.args)


def _enum(name: str) -> str:
    """`queueSegments` -> `QUEUE_SEGMENTS` (the `MetricName` of a `Metrics` field)."""
    return "".join(f"_{c}" if c.isupper() else c.upper() for c in name)


DATA_SETS = {m.name: m.dataset.value for m in CATALOG}


@st.composite
def metric_fields(draw: st.DrawFn, dataset: str | None = None) -> str:
    """Some `Metrics` fields (of one data set, when given): thresholds, aliases, `__typename`."""
    names = sorted(n for n in METRICS_TYPE.fields if dataset in (None, DATA_SETS[n]))
    names = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))
    parts = []
    for index, name in enumerate(names):
        given = [
            f"{argument}: {draw(THRESHOLD_VALUES[argument])}"
            for argument, definition in METRICS_TYPE.fields[name].args.items()
            if "!" in str(definition.type) or draw(st.integers(0, 3)) == 0
        ]
        arguments = f"({', '.join(given)})" if given else ""
        parts.append(f"{f'm{index}: ' if draw(st.booleans()) else ''}{name}{arguments}")
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), "__typename")
    return " ".join(parts)


@st.composite
def reports(draw: st.DrawFn) -> str:
    dimensions = draw(
        st.lists(
            st.sampled_from(VALUES + TIMES + ENTITIES * (draw(st.integers(0, 4)) == 0)),
            max_size=2,
            unique=True,
        )
    )
    arguments = [f"groupBy: [{', '.join(dimensions)}]"]
    for name in draw(st.sampled_from([["from", "to"]] * 4 + [["from"], []])):
        arguments.append(f'{name}: "{draw(st.sampled_from(MOMENTS))}"')
    if draw(st.integers(0, 4)) == 0:
        arguments.append(draw(st.sampled_from(TIME_ZONES))[1:-1])
    if draw(st.integers(0, 3)) == 0:
        arguments.append("filter: {kind: {eq: QUEUE}}")
    # rows ordered in SQL have metrics of one data set (else their groups meet in Python)
    dataset = draw(st.sampled_from(["segments"] * 4 + ["workload", "assessments", None]))
    orderable = [n for n in ORDERABLE if dataset in (None, DATA_SETS[n])]
    orders = []
    for _ in range(draw(st.integers(0, 2))):
        direction = draw(st.sampled_from(["ASC", "DESC"]))
        if dimensions and draw(st.booleans()):
            orders.append(
                f"{{dimension: {draw(st.sampled_from(dimensions))}, direction: {direction}}}"
            )
        else:
            metric = _enum(draw(st.sampled_from(orderable)))
            orders.append(f"{{metric: {metric}, direction: {direction}}}")
    if orders:
        arguments.append(f"orderBy: [{', '.join(orders)}]")
    if draw(st.integers(0, 5)) > 0:
        arguments.append(f"first: {draw(st.integers(1, 60))}")
    parts = []
    for part in draw(st.permutations(["__typename", "groupBy", "totalRows", "rows", "total"])):
        if draw(st.integers(0, 2)) == 0:
            continue
        if part == "rows":
            keys = draw(st.lists(st.sampled_from([*sorted(KEY_FIELDS.values()), "__typename"]),
                                 min_size=1, max_size=3, unique=True))  # fmt: skip
            inner = [f"key {{ {' '.join(keys)} }}"]
            if draw(st.integers(0, 3)) > 0:
                inner.append(f"metrics {{ {draw(metric_fields(dataset))} }}")
            if draw(st.booleans()):
                inner.append("__typename")
            if draw(st.integers(0, 6)) == 0:
                inner.append("cursor")  # keeps the GraphQL path
            part = f"rows {{ {' '.join(draw(st.permutations(inner)))} }}"
        elif part == "total":
            part = f"total {{ {draw(metric_fields())} }}"
        parts.append(part)
    if not parts or draw(st.integers(0, 12)) == 0:
        parts.append("pageInfo { hasNextPage }")  # keeps the GraphQL path
    return f"{{ report({', '.join(arguments)}) {{ {' '.join(parts)} }} }}"


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=reports(), role=st.sampled_from(["admin", "supervisor", "agent"]))
async def test_reports_answered_whole_answer_like_graphql(
    small_engine: AsyncEngine, viewers: Viewers, document: str, role: str
) -> None:
    viewer = getattr(viewers, role)
    whole = WholeAnswers(GRAPHQL)
    first = await learned(small_engine, whole, viewer, document, None)
    body = await whole.answer(context(small_engine, viewer), document, None, None)
    if body is None:
        return
    assert not first.errors, document
    # as sent: keys in the document's order, `3.0` is not `3`
    assert json.dumps(json.loads(body)["data"]) == json.dumps(first.data), document


INTRADAY = """{ report(groupBy: [QUEUE, INTERVAL_15_MINUTES], from: "2026-03-27T00:00:00Z",
  to: "2026-03-29T00:00:00Z", orderBy: [{metric: QUEUE_SEGMENTS, direction: DESC}], first: 50) {
  __typename groupBy rows { key { queue interval15Minutes } metrics { queueSegments serviceLevel } }
  totalRows } }"""
TOTAL = """{ report(groupBy: [], from: "2026-03-27T00:00:00Z", to: "2026-03-29T00:00:00Z",
  first: 1) { total { queueSegments serviceLevel s: serviceLevel(slaThreshold: 5) } } }"""


@pytest.mark.parametrize("document", [INTRADAY, TOTAL], ids=["rows", "total"])
async def test_a_wallboards_report_is_one_statement(
    client: httpx.AsyncClient, gw: Gateway, document: str
) -> None:
    expected = await gw.query(document)
    assert expected["report"].get("totalRows", 51) > 50
    for _ in range(2):  # GraphQL answers, then its statement is learned
        assert await post(client, document) == {"data": expected}
    with gw.counting() as statements:
        assert await post(client, document) == {"data": expected}
    assert len(statements) == 1 and "json_" in statements[0], statements


@pytest.mark.parametrize(
    "part",
    [
        "pageInfo { endCursor }",
        "rows { cursor }",
        "rows { key { agent { fullName } } }",
        "total { queueSegments }",  # two aggregates: concurrent statements through GraphQL
        "t: total { averageAssessmentScore } total { queueSegments }",
    ],
)
async def test_what_json_cannot_write_keeps_graphql(
    client: httpx.AsyncClient, gw: Gateway, part: str
) -> None:
    document = INTRADAY.replace("totalRows } }", f"totalRows {part} }} }}")
    if "agent" in part:
        document = document.replace("groupBy: [QUEUE,", "groupBy: [AGENT,")
    if part.startswith("t:"):
        document = TOTAL.replace("total {", f"{part} x: total {{")
    first = await post(client, document)
    assert "errors" not in first, first
    assert await post(client, document) == first
    with gw.counting() as statements:
        assert await post(client, document) == first
    assert statements and not any("json_" in s for s in statements), statements
