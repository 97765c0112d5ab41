"""The document limits: measured once per fragment (checked against a naive expansion), each
limit passing just under and refusing just over with its code."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    parse,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

import gateway.document_checks as checks
from gateway.document_shape import Shape, ShapeMeter, fragments_of, operations_of
from gateway.query_cost import QueryCost
from tests.helpers import app_client

# --- memoized measures agree with expanding every spread ------------------------------------------

FIELDS = ["a", "b", "c"]


@st.composite
def fragment_documents(draw: st.DrawFn) -> str:
    """A document whose fragments spread later ones (a DAG), inside fields and inline fragments."""
    count = draw(st.integers(1, 5))

    def selection(level: int, allowed: list[int]) -> str:
        items = []
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["leaf", "field", "spread", "inline"]))
            if kind == "spread" and allowed:
                items.append(f"...F{draw(st.sampled_from(allowed))}")
            elif kind == "field" and level < 3:
                name = draw(st.sampled_from(FIELDS))
                first = draw(st.sampled_from(["", "(first: 3)", "(first: 7)"]))
                alias = draw(st.sampled_from(["", "x: "]))
                items.append(f"{alias}{name}{first} {{ {selection(level + 1, allowed)} }}")
            elif kind == "inline" and level < 3:
                items.append(f"... on T {{ {selection(level + 1, allowed)} }}")
            else:
                items.append(draw(st.sampled_from(["id", "nodes", "__typename"])))
        return " ".join(items)

    fragments = [
        f"fragment F{i} on T {{ {selection(0, list(range(i + 1, count)))} }}" for i in range(count)
    ]
    operation = f"{{ {selection(0, list(range(count)))} }}"
    return " ".join([operation, *fragments])


def naive_shape(document: Any) -> Shape:
    """Expand every spread anew (what the old limiters did)."""
    fragments = fragments_of(document)

    def walk(selections: SelectionSetNode) -> Shape:
        fields = aliases = depth = 0
        for s in selections.selections:
            if isinstance(s, FieldNode):
                child = walk(s.selection_set) if s.selection_set else Shape()
                fields += 1 + child.fields
                aliases += int(s.alias is not None) + child.aliases
                if s.selection_set and not s.name.value.startswith("__"):
                    depth = max(depth, 1 + child.depth)
            else:
                inner = (
                    s.selection_set
                    if isinstance(s, InlineFragmentNode)
                    else fragments[s.name.value].selection_set
                )
                child = walk(inner)
                fields, aliases = fields + child.fields, aliases + child.aliases
                depth = max(depth, child.depth)
        return Shape(fields, aliases, depth)

    total = Shape()
    for op in operations_of(document):
        shape = walk(op.selection_set)
        total = Shape(
            total.fields + shape.fields,
            total.aliases + shape.aliases,
            max(total.depth, shape.depth),
        )
    return total


def naive_cost(document: Any, default_page: int) -> int:
    fragments = fragments_of(document)

    def flat(selections: SelectionSetNode | None) -> list[FieldNode]:
        found: list[FieldNode] = []
        for s in selections.selections if selections else ():
            if isinstance(s, FieldNode):
                found.append(s)
            elif isinstance(s, InlineFragmentNode):
                found += flat(s.selection_set)
            elif isinstance(s, FragmentSpreadNode):
                found += flat(fragments[s.name.value].selection_set)
        return found

    def size(field: FieldNode) -> int:
        for argument in field.arguments or ():
            if argument.name.value == "first":
                return int(argument.value.value)  # type: ignore[attr-defined]
        names = {f.name.value for f in flat(field.selection_set)}
        return default_page if names & {"nodes", "edges"} else 1

    def walk(selections: SelectionSetNode | None, rows: int) -> int:
        worst = rows
        for field in flat(selections):
            if field.selection_set is not None:
                worst = max(worst, walk(field.selection_set, rows * size(field)))
        return worst

    return max(walk(op.selection_set, 1) for op in operations_of(document))


@settings(max_examples=150, deadline=None)
@given(text=fragment_documents())
def test_measures_per_fragment_equal_the_naive_expansion(text: str) -> None:
    document = parse(text)
    assert ShapeMeter(ceiling=10**9).document(document) == naive_shape(document)
    assert QueryCost(document, {}, default_page=5).total() == naive_cost(document, 5)


def test_a_fragment_bomb_is_measured_in_linear_time() -> None:
    """3 spreads of the next fragment, 40 deep: 3**40 fields, measured in milliseconds."""
    fragments = [
        f"fragment F{i} on T {{ id ...F{i + 1} ...F{i + 1} ...F{i + 1} }}" for i in range(40)
    ]
    document = parse("{ ...F0 } " + " ".join(fragments) + " fragment F40 on T { id }")
    started = time.perf_counter()
    shape = ShapeMeter(ceiling=10**6).document(document)
    cost = QueryCost(document, {}, default_page=50).total()
    # expanding 3**40 fields would never end: finishing at all shows the linear measure; the
    # bound is loose because the shared test machine can be loaded many times over
    assert time.perf_counter() - started < 5
    assert shape.fields == 10**6 and cost == 1


# --- each limit over HTTP: just under passes, just over is refused with its code -----------------


@pytest.fixture(scope="module")
def limited(small_engine: AsyncEngine) -> Any:
    """A client factory with limits set for the test."""

    def make(**limits: Any) -> httpx.AsyncClient:
        return app_client(small_engine, auth="off", **limits)

    return make


async def post(c: httpx.AsyncClient, body: Any) -> dict[str, Any]:
    response = await c.post("/graphql", json=body)
    assert response.headers["content-type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


def code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


def spread_query(copies: int) -> str:
    """`copies` spreads of fragments holding one field each: 2 + copies fields expanded."""
    fragments = " ".join(f"fragment A{i} on Team {{ name }}" for i in range(copies))
    spreads = " ".join(f"...A{i}" for i in range(copies))
    return "{ teams(first: 1) { nodes { %s } } } %s" % (spreads, fragments)


async def test_expanded_fields(limited: Any) -> None:
    async with limited(max_fields=7, max_field_pairs=10_000) as c:
        assert code(await post(c, {"query": spread_query(5)})) is None  # teams, nodes, 5 names
        refused = await post(c, {"query": spread_query(6)})
    assert code(refused) == "QUERY_TOO_LARGE" and refused.get("data") is None


async def test_field_pairs(limited: Any) -> None:
    def repeated(n: int) -> str:
        return "{ teams(first: 1) { nodes { %s } } }" % " ".join(["name"] * n)

    async with limited(max_field_pairs=10) as c:
        assert code(await post(c, {"query": repeated(5)})) is None  # 10 pairs
        assert code(await post(c, {"query": repeated(6)})) == "QUERY_TOO_COMPLEX"  # 15 pairs


def nested_filter(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"queueTime": {"eq": 1}}  # 2 levels
    for _ in range(depth):
        value = {"not": [value]}  # 2 more each
    return value


FILTERED = "query($f: SegmentFilter) { segments(filter: $f) { totalCount } }"


async def test_input_depth(limited: Any) -> None:
    async with limited(max_input_depth=10) as c:
        ok = await post(c, {"query": FILTERED, "variables": {"f": nested_filter(4)}})
        assert code(ok) is None  # 10 levels
        deep = nested_filter(5)
        refused = await post(
            c, {"query": "{ segments(filter: %s) { totalCount } }" % _literal(deep)}
        )
        assert code(refused) == "INPUT_TOO_DEEP"
        body = await c.post("/graphql", json={"query": FILTERED, "variables": {"f": deep}})
    assert body.status_code == 400 and code(body.json()) == "BAD_REQUEST"  # the body itself


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{%s}" % ", ".join(f"{k}: {_literal(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[%s]" % ", ".join(_literal(v) for v in value)
    return json.dumps(value)


async def test_input_values_and_objects(limited: Any) -> None:
    async with limited(max_input_values=20, max_input_objects=11) as c:
        ids = {"queueTime": {"in": list(range(20))}}
        assert code(await post(c, {"query": FILTERED, "variables": {"f": ids}})) is None
        ids = {"queueTime": {"in": list(range(21))}}
        assert (
            code(await post(c, {"query": FILTERED, "variables": {"f": ids}})) == "INPUT_TOO_LARGE"
        )
        terms = {"or": [{"queueTime": {"eq": n}} for n in range(5)]}  # 1 + 5 * 2 objects
        assert code(await post(c, {"query": FILTERED, "variables": {"f": terms}})) is None
        terms = {"or": [{"queueTime": {"eq": n}} for n in range(6)]}
        assert (
            code(await post(c, {"query": FILTERED, "variables": {"f": terms}})) == "INPUT_TOO_LARGE"
        )


def report(start: str, end: str) -> dict[str, Any]:
    query = '{ report(groupBy: [DATE], from: "%s", to: "%s") { rows { metrics { segments } } } }'
    return {"query": query % (start, end)}


async def test_report_span(limited: Any) -> None:
    async with limited(max_report_span_days=31) as c:
        assert code(await post(c, report("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"))) is None
        over = await post(c, report("2026-01-01T00:00:00Z", "2026-02-01T00:00:01Z"))
        assert code(over) == "RANGE_TOO_LONG" and "32 days" in over["errors"][0]["message"]
        beyond = await post(c, report("0001-01-01T00:00:00Z", "0001-01-20T00:00:00Z"))
        assert code(beyond) == "OUT_OF_RANGE"


async def test_a_check_past_its_deadline_is_refused_while_the_loop_serves(
    limited: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_validation(*_: Any) -> list[Any]:
        time.sleep(2.0)
        return []

    monkeypatch.setattr(checks, "validate_document", slow_validation)
    async with limited(document_check_seconds=0.3) as c:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        body = await post(c, {"query": "{ teams { totalCount } }"})
        elapsed = time.monotonic() - started
        ticker.cancel()
    assert code(body) == "QUERY_TOO_COMPLEX"
    assert elapsed < 1.5  # answered at the deadline, not when the check ended (2 s)
    assert ticks >= 5  # the event loop kept running meanwhile


async def test_request_errors_carry_codes(limited: Any) -> None:
    async with limited() as c:
        parse_error = await post(c, {"query": "{ teams { "})
        invalid = await post(c, {"query": "{ teams { colour } }"})
        variables = await post(
            c, {"query": "query($n: Int!) { teams(first: $n) { totalCount } }", "variables": {}}
        )
        not_json = await c.post(
            "/graphql", content=b'{"query": NaN}', headers={"content-type": "application/json"}
        )
    assert code(parse_error) == "GRAPHQL_PARSE_FAILED"
    assert code(invalid) == "GRAPHQL_VALIDATION_FAILED"
    assert code(variables) == "BAD_USER_INPUT"
    assert not_json.status_code == 400 and code(not_json.json()) == "BAD_REQUEST"
