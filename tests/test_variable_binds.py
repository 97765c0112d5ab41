"""Variables bound at each read (`schema/variable_binds.py`) never answer with another request's
values.

Generated documents put variables into filters (roots, nested pages, `metrics`, to-one links,
`and`/`or`/`not`) as comparison operands, and sometimes also where they must stay values (a
`contains`, a `metrics` window, a page size). One gateway is asked the document with a run of
different values, as a dashboard sliding its window asks it: plans are reused and, from the third
request on, the whole answer too. Each answer must equal the answer to the same document with the
values written in as literals (no variables, so nothing bound), on a cold path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLInputObjectType,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
    print_ast,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.fields
from gateway.limits import limit_extensions
from gateway.settings import Settings
from resolvers.context import Context, Options
from resolvers.viewer import Viewer
from schema import build_schema, variable_binds
from schema.page_plans import PlanCache
from schema.variable_binds import Bindable, bindable, bound_values
from schema.whole_answers import WholeAnswers
from tests.conftest import Gateway, Viewers
from tests.test_json_rows import GRAPHQL, ROOTS, candidates

SERVED = build_schema(limit_extensions(Settings()))  # keeps each parsed document, as served
OPERANDS = {"eq", "ne", "gt", "gte", "lt", "lte"}
SCALARS = {
    "DateTimeFilter": "DateTime",
    "DateFilter": "Date",
    "IntFilter": "Int",
    "FloatFilter": "Float",
    "StringFilter": "String",
    "BooleanFilter": "Boolean",
}
# around the demo's days (it ends on 2026-03-29), offsets and wall-clock forms
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "DateTime": st.sampled_from(
        [
            "2026-03-26T00:00:00Z",
            "2026-03-27T09:30:00Z",
            "2026-03-28T15:00:00+05:45",
            "2026-03-29T00:00:00Z",
            "2026-04-10T00:00:00Z",
            "2026-03-27T20:00:00",
            "2026-03-28T03:00:00",
            "2026-03-28T12:00:00",
        ]  # wall clocks
    ),
    "Date": st.sampled_from(["2020-01-01", "2024-06-30", "2025-12-31", "2026-03-28"]),
    "Int": st.integers(-1, 400),
    "Float": st.sampled_from([-1.5, 0.0, 3.25, 50.0, 1e6]),
    "String": st.sampled_from(
        ["", "Sales", "Support", "a", "m", "voice", "Z", "%", "_", "s_", "/"]
    ),
    "Boolean": st.booleans(),
}
# lists of the scalars `in`/`notIn` bind as one parameter (empty ones and special texts too)
LISTED = {"Int", "Float", "String"}
VALUES |= {f"[{k}!]": st.lists(VALUES[k], max_size=4) for k in LISTED}
Slots = dict[str, str]  # variable name -> its type


def _fields(type_name: str) -> dict[str, str]:
    """A filter input's fields: name -> the named type of its value."""
    filter_type = GRAPHQL.type_map[type_name]
    assert isinstance(filter_type, GraphQLInputObjectType)
    return {n: get_named_type(f.type).name for n, f in filter_type.fields.items()}


def _operators(type_name: str, scalar: str) -> list[str]:
    """The operators of a filter type that take one value of `scalar` (not `in`'s list)."""
    operators = GRAPHQL.type_map[type_name]
    assert isinstance(operators, GraphQLInputObjectType)
    return sorted(
        name
        for name, f in operators.fields.items()
        if get_named_type(f.type).name == scalar and not is_list_type(get_nullable_type(f.type))
    )


@st.composite
def operand(draw: st.DrawFn, scalar: str, slots: Slots) -> str:
    """A variable of `scalar` (often one already used), or a literal placeholder `@<value>`."""
    if draw(st.integers(0, 4)) == 0:
        return "@" + json.dumps(draw(VALUES[scalar]))
    same = [name for name, kind in slots.items() if kind == scalar]
    if same and draw(st.booleans()):
        return "$" + draw(st.sampled_from(same))
    name = f"v{len(slots)}"
    slots[name] = scalar
    return "$" + name


@st.composite
def filters(draw: st.DrawFn, node_type: str, slots: Slots, depth: int = 0) -> str:
    """A filter on `node_type` with comparisons whose operands are mostly variables."""
    fields = _fields(f"{node_type}Filter")
    way = draw(st.sampled_from(["compare"] * 4 + ["and", "or", "not", "link"]))
    if way in ("and", "or", "not") and depth < 2:
        parts = draw(st.lists(filters(node_type, slots, depth + 1), min_size=1, max_size=2))
        return f"{{{way}: [{', '.join(parts)}]}}"
    links = [n for n, t in fields.items() if t.endswith("Filter") and t[:-6] in GRAPHQL.type_map
             and t not in SCALARS and n not in ("and", "or", "not") and "eq" not in _fields(t)]  # fmt: skip
    if way == "link" and links and depth < 2:
        link = draw(st.sampled_from(sorted(links)))
        return f"{{{link}: {draw(filters(fields[link][:-6], slots, depth + 1))}}}"
    comparable = sorted(n for n, t in fields.items() if t in SCALARS)
    name = draw(st.sampled_from(comparable))
    scalar = SCALARS[fields[name]]
    if scalar in LISTED and draw(st.integers(0, 3)) == 0:  # a list of values
        op = draw(st.sampled_from(["in", "notIn"]))
        return f"{{{name}: {{{op}: {draw(operand(f'[{scalar}!]', slots))}}}}}"
    op = draw(st.sampled_from(_operators(fields[name], scalar)))
    return f"{{{name}: {{{op}: {draw(operand(scalar, slots))}}}}}"


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, Slots]:
    """A document with `$` variables and `@` literals in its filters, `metrics` windows and a
    report (and sometimes a variable used where it stays a value), and its variables' scalars."""
    slots: Slots = {}
    fields = []
    way = draw(st.sampled_from(["page", "page", "report", "both"]))
    if way != "report":
        fields.append(draw(page(slots)))
    if way != "page":
        window = f"from: {draw(operand('DateTime', slots))}, to: {draw(operand('DateTime', slots))}"
        total = draw(st.sampled_from(["", "", "total { queueSegments }"]))
        fields.append(
            f"rep: report(groupBy: [QUEUE], {window}, first: 5, filter: "
            f"{draw(filters('Segment', slots))}) {{ rows {{ key {{ queue }} metrics {{ "
            f"queueSegments conversations }} }} totalRows {total} }}"
        )
    return " ".join(fields), slots


@st.composite
def page(draw: st.DrawFn, slots: Slots) -> str:
    """A root page with a filter, sometimes a nested page with one and `metrics` with a window
    and one."""
    root, node_type = draw(
        st.sampled_from([r for r in ROOTS if f"{r[1]}Filter" in GRAPHQL.type_map])
    )
    parts = [draw(st.sampled_from(["id", "__typename"]))]
    nested = [c for c in candidates(node_type) if c.kind == "connection"
              and f"{c.type_name}Filter" in GRAPHQL.type_map]  # fmt: skip
    if nested and draw(st.booleans()):
        child = draw(st.sampled_from(nested))
        flt = draw(filters(child.type_name, slots))
        count = draw(st.sampled_from(["totalCount", "", "totalCount nodes { __typename }"]))
        parts.append(f"{child.name}(first: 3, filter: {flt}) {{ nodes {{ id }} {count} }}")
    if any(c.kind == "metrics" for c in candidates(node_type)) and draw(st.integers(0, 3)):
        window = [
            f"{name}: {draw(operand('DateTime', slots))}"
            for name in draw(st.lists(st.sampled_from(["from", "to"]), min_size=1, unique=True))
        ]
        flt = draw(filters("Segment", slots))
        zone = draw(st.sampled_from([[], ['timeZone: "Asia/Kathmandu"']]))  # for wall clocks
        arguments = ", ".join([*window, f"filter: {flt}", *zone])
        parts.append(f"metrics({arguments}) {{ conversations queueSegments }}")
    size = "3"
    ints = [n for n, k in slots.items() if k == "Int"]
    if ints and draw(st.integers(0, 3)) == 0:  # also a page size: a value
        size = "$" + draw(st.sampled_from(ints))
    flt = draw(filters(node_type, slots))
    first = draw(st.sampled_from(["first", "last"]))
    selected = " ".join(parts)
    return f"{root}({first}: {size}, filter: {flt}) {{ totalCount nodes {{ {selected} }} }}"


def literal(value: Any) -> str:
    """A GraphQL literal of a JSON value."""
    return "null" if value is None else json.dumps(value)


def written(body: str, slots: Slots, values: dict[str, Any] | None) -> str:
    """The document with its variables declared (`values` None) or written in as literals."""
    for name in sorted(slots, key=len, reverse=True):
        if values is not None:
            body = body.replace(f"${name}", literal(values[name]))
    text = _literals(body)
    if values is not None or not slots:
        return f"{{ {text} }}"
    declared = ", ".join(f"${n}: {k}" for n, k in slots.items())
    return f"query ({declared}) {{ {text} }}"


def _literals(text: str) -> str:
    """`@<json>` placeholders as GraphQL literals (JSON strings and numbers are GraphQL's)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "@":
            value, end = json.JSONDecoder().raw_decode(text, i + 1)
            out.append(literal(value))
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def context(engine: AsyncEngine, viewer: Viewer, json_rows: bool = True) -> Context:
    return Context(engine=engine, viewer=viewer, options=Options(json_rows=json_rows))


@contextmanager
def failed_whole_answers() -> Iterator[list[str]]:
    """The whole answers that failed in the block (GraphQL answers them, but none should)."""
    failed: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "whole answer failed" in record.getMessage():
                failed.append(record.getMessage())

    handler, logger = Handler(), logging.getLogger("insights_gateway")
    logger.addHandler(handler)
    try:
        yield failed
    finally:
        logger.removeHandler(handler)


def answer(result: Any) -> Any:
    """Data, and the paths of errors (their messages quote the document), as JSON shows them."""
    errors = [e.path for e in result.errors or ()]
    return json.dumps({"data": result.data, "errors": errors}, default=str)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=documents(),
    role=st.sampled_from(["admin", "supervisor", "agent"]),
    data=st.data(),
)
async def test_bound_variables_answer_like_literals(
    small_engine: AsyncEngine,
    viewers: Viewers,
    case: tuple[str, Slots],
    role: str,
    data: st.DataObject,
) -> None:
    body, slots = case
    viewer = getattr(viewers, role)
    document = written(body, slots, None)
    operation, *_ = parse(document).definitions
    event(f"bindable variables: {len(bindable(operation, {}).names)}")  # type: ignore[arg-type]
    whole = WholeAnswers(GRAPHQL)
    cache = PlanCache()
    real = schema.fields.PLANS
    schema.fields.PLANS = cache
    distinct: set[str] = set()
    try:
        for step in range(5):  # learned at the second, answered whole from the third
            values = {
                n: data.draw(st.none() | VALUES[k] if step == 3 else VALUES[k], label=f"{n}@{step}")
                for n, k in slots.items()
            }
            inline = written(body, slots, values)
            expected = await SERVED.execute(
                inline, context_value=context(small_engine, viewer, json_rows=False)
            )
            with failed_whole_answers() as failed:
                whole_body = await whole.answer(
                    context(small_engine, viewer), document, None, values
                )
            assert failed == [], document
            if whole_body is not None:
                event("answered whole")
                assert not expected.errors, inline
                assert json.dumps(json.loads(whole_body)["data"]) == json.dumps(expected.data), (
                    document, values,
                )  # fmt: skip
            ctx = context(small_engine, viewer)
            served = await SERVED.execute(document, variable_values=values, context_value=ctx)
            assert answer(served) == answer(expected), (document, values)
            distinct.add(answer(expected))
            if not served.errors and served.data is not None:
                whole.learn(ctx, document, None, values)
    finally:
        schema.fields.PLANS = real
    event(f"distinct answers: {min(len(distinct), 3)}")


# --- which variables are bound ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "names", "windows"),
    [
        (
            "query ($a: DateTime!) { segments(filter: {startedAt: {gte: $a}}) { totalCount } }",
            {"a"},
            set(),
        ),
        # a page size used in a filter too, a directive, a report's window: values; the text of
        # a `contains` and the list of an `in` are operands
        (
            """query ($a: DateTime!, $n: Int, $s: String, $b: Boolean!, $l: [Int]) {
             segments(first: $n, filter: {queue: {contains: $s}, talkTime: {gt: $n},
               holdTime: {in: $l}}) @skip(if: $b) { totalCount }
             report(groupBy: [QUEUE], from: $a) { totalRows }
             x: segments(filter: {startedAt: {lt: $a}}) { totalCount } }""",
            {"s", "l"},
            set(),
        ),
        # the list of an `in`/`notIn` (of numbers or texts, not of enums), unless used elsewhere
        (
            """query ($l: [Int!], $t: [String!], $u: [String!], $k: [SegmentKind!]) {
             segments(filter: {holdTime: {in: $l}, queue: {notIn: $t}, kind: {in: $k},
               or: [{queue: {in: $u}}]}) { totalCount }
             report(groupBy: [QUEUE], filter: {queue: {in: $u}}) { totalRows }
             x: agents(filter: {fullName: {in: $t}}) { totalCount } }""",
            {"l", "t", "u"},
            set(),
        ),
        (
            """query ($t: [String!]) { segments(filter: {queue: {in: $t}}) { totalCount }
             x: segments(filter: {queue: {in: [$t]}}) { totalCount } }""",
            set(),
            set(),
        ),
        # enums are converted before they reach SQL; input objects are shapes
        (
            """query ($k: SegmentKind, $f: SegmentFilter) { segments(filter: {kind: {eq: $k},
             and: [$f]}) { totalCount } }""",
            set(),
            set(),
        ),
        # uses in fragments count too
        (
            """query ($a: Int, $b: Int) { segments(filter: {talkTime: {gt: $a}}) { ...F } }
           fragment F on SegmentConnection { nodes { agent { segments(first: $b) { totalCount } }
             conversation { segments(filter: {holdTime: {lte: $b}}) { totalCount } } } }""",
            {"a"},
            set(),
        ),
        # an entity's metrics window (bound when given with an offset), not its time zone
        (
            """query ($from: DateTime!, $to: DateTime, $z: String) { agents { nodes {
               metrics(from: $from, to: $to, timeZone: $z) { conversations } } }
             segments(filter: {startedAt: {gte: $from}}) { totalCount } }""",
            {"from", "to"},
            {"from", "to"},
        ),
    ],
)
def test_which_variables_may_be_bound(document: str, names: set[str], windows: set[str]) -> None:
    parsed = parse(document)
    operation, *rest = parsed.definitions
    fragments = {f.name.value: f for f in rest}  # type: ignore[attr-defined]
    found = bindable(operation, fragments)  # type: ignore[arg-type]
    assert (found.names, found.windows) == (names, windows)
    definitions = {d.variable.name.value: d for d in operation.variable_definitions}  # type: ignore[attr-defined]
    assert found.lists == {n for n in names if print_ast(definitions[n].type).startswith("[")}


def test_a_window_is_bound_when_given_with_an_offset() -> None:
    """A wall-clock window is read in the query's zone, which the plan holds: it stays a value;
    a null removes a comparison: it stays a value too."""
    found = Bindable(frozenset({"a", "w"}), frozenset({"w"}))
    wall, aware = datetime(2026, 3, 28, 12), datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert bound_values(found, {"a": wall, "w": wall}) == {"var_a": wall}
    assert bound_values(found, {"a": aware, "w": aware}) == {"var_a": aware, "var_w": aware}
    assert bound_values(found, {"a": None, "w": aware}) == {"var_w": aware}


# --- what it saves ------------------------------------------------------------------------------

SLIDING = {
    "a filtered page and its nested pages": """query ($from: DateTime!) {
  conversations(first: 5, orderBy: [{field: STARTED_AT, direction: ASC}],
                filter: {startedAt: {gte: $from}}) {
    nodes { conversationId segments(filter: {startedAt: {gte: $from}}) { nodes { segmentId } } } } }""",
    "a board of metrics": """query ($from: DateTime!) { teams(first: 10) { nodes { name
  metrics(from: $from, to: "2026-03-30T00:00:00Z") { conversations averageHandlingTime } } } }""",
}


@pytest.mark.parametrize("case", sorted(SLIDING))
async def test_a_sliding_window_is_planned_once_and_answered_whole(
    client: httpx.AsyncClient, gw: Gateway, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Each request a new `$from`: the plans are made at the first request only, and from the
    third the document is one statement."""
    document = SLIDING[case]
    moments = [f"2026-03-2{d}T0{h}:00:00Z" for d in (6, 7, 8) for h in (0, 3, 6)]
    objects = Gateway(gw.engine, Options(json_rows=False))
    literal = document.replace("query ($from: DateTime!) ", "")
    expected = [await objects.query(literal.replace("$from", json.dumps(m))) for m in moments]
    assert len({json.dumps(e) for e in expected}) > 2  # the window matters
    cache = PlanCache()
    monkeypatch.setattr(schema.fields, "PLANS", cache)
    await _asked_in_turn(client, gw, cache, document, [{"from": m} for m in moments], expected)


async def _asked_in_turn(
    client: httpx.AsyncClient,
    gw: Gateway,
    cache: PlanCache,
    document: str,
    runs: list[dict[str, Any]],
    expected: list[Any],
) -> set[str]:
    """Ask `document` with each run's variables: each answer is the expected one, the plans
    are the first request's whatever the values, and from the third request the document is
    one statement. Returns the texts of those statements."""
    texts = set()
    for index, variables in enumerate(runs):
        with gw.counting() as statements:
            response = await client.post(
                "/graphql", json={"query": document, "variables": variables}
            )
        assert response.json() == {"data": expected[index]}
        if index == 0:
            plans = len(cache)
        assert len(cache) == plans  # the first request's plans, whatever the values are
        if index >= 2:
            assert len(statements) == 1, [s[:60] for s in statements]
            texts.add(statements[0])
    return texts


PICKER = """query ($queues: [String!]) {
  segments(first: 5, orderBy: [{field: STARTED_AT, direction: ASC}],
           filter: {queue: {in: $queues}}) { totalCount nodes { segmentId queue } }
  others: segments(filter: {queue: {notIn: $queues}}) { totalCount }
  report(groupBy: [QUEUE], first: 10, filter: {queue: {in: $queues}}) {
    rows { key { queue } metrics { queueSegments } } } }"""


async def test_a_picked_list_is_planned_once_and_answered_whole(
    client: httpx.AsyncClient, gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard's picker sends a new list each time (one queue, several, none): one plan and
    one statement for one element (compared with `=`), one for any other length, answered
    whole from the third request of each, each answer the literal list's."""
    rows = await gw.query("{ report(groupBy: [QUEUE]) { rows { key { queue } } } }")
    queues = sorted({row["key"]["queue"] for row in rows["report"]["rows"]} - {None})
    assert len(queues) >= 3
    singles = [[q] for q in queues[:3]] + [["50%_"]]
    others = [queues[:3], [], [*queues[1:2], "no such queue"], queues, queues[:2]]
    objects = Gateway(gw.engine, Options(json_rows=False))
    literal = PICKER.replace("query ($queues: [String!]) ", "")
    cache = PlanCache()
    monkeypatch.setattr(schema.fields, "PLANS", cache)
    for picks in (singles, others):
        expected = [await objects.query(literal.replace("$queues", json.dumps(p))) for p in picks]
        assert len({json.dumps(e) for e in expected}) >= 3  # the list matters
        runs = [{"queues": p} for p in picks]
        texts = await _asked_in_turn(client, gw, cache, PICKER, runs, expected)
        assert len(texts) == 1  # one statement for lists of any length (of this shape)


async def test_a_wall_clock_window_stays_a_value(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an offset the window is read in the query's zone, which the plan holds: each
    value is a plan of its own."""
    document = SLIDING["a board of metrics"]
    cache = PlanCache()
    monkeypatch.setattr(schema.fields, "PLANS", cache)
    sizes = []
    for hour in range(4):
        variables = {"from": f"2026-03-27T0{hour}:00:00"}
        response = await client.post("/graphql", json={"query": document, "variables": variables})
        assert "errors" not in response.json()
        sizes.append(len(cache))
    assert sizes == sorted(set(sizes))  # a plan per value


def test_placeholders_stay_bounded() -> None:
    """Variable names are the client's: new ones without end keep the cache bounded."""
    for index in range(variable_binds._MAX_OPERATIONS + 10):
        assert variable_binds.placeholder(f"var_n{index}").key == f"var_n{index}"
    assert len(variable_binds._PLACEHOLDERS) <= variable_binds._MAX_OPERATIONS
