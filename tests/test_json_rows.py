"""Rows the database answers as JSON (`resolvers/json_rows.py`) answer exactly like objects.

Documents are generated from the schema: root and nested connections (first or last, filtered,
ordered, after/before cursors, page sizes over the cap, nested arguments sometimes variables),
stored values of every kind (instants, enums, booleans, numbers, dates), date dimensions in
several time zones, to-one links nested a few deep, aliases, repeated fields merged, inline and
named fragments, `__typename`, `@skip`/`@include`, `edges`, page info and counts; each runs as an
admin, a supervisor and an agent, with the JSON path on and off. The serialized data and the
errors must be equal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from graphql import (
    GraphQLObjectType,
    get_named_type,
    is_enum_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Date, Float, Integer
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers import pages
from resolvers.context import Context, Options
from resolvers.entities import ENTITIES, Entity
from resolvers.pagination import OrderSpec, encode_cursor, full_order
from resolvers.viewer import Viewer
from schema.json_shapes import MAX_PAGE_DEPTH
from tests.conftest import SCHEMA, Gateway, Viewers
from warehouse.types import EpochSeconds

GRAPHQL = SCHEMA._schema
QUERY = GRAPHQL.query_type
assert QUERY is not None


def _connection_node(field_type: Any) -> GraphQLObjectType | None:
    """The node type of a connection field's type, or None for any other type."""
    named = get_named_type(field_type)
    if not (is_object_type(named) and named.name.endswith("Connection")):
        return None
    node = get_named_type(named.fields["nodes"].type)
    return node if is_object_type(node) else None


def _optional_args(field: Any) -> bool:
    return not any(is_non_null_type(a.type) for a in field.args.values())


@dataclass(frozen=True)
class Candidate:
    name: str
    kind: str  # "leaf", "object" or "connection"
    type_name: str  # a leaf's scalar type (or "enum"), else the object type


def candidates(type_name: str) -> list[Candidate]:
    found = []
    object_type = GRAPHQL.type_map[type_name]
    assert isinstance(object_type, GraphQLObjectType)
    for name, field in object_type.fields.items():
        if not _optional_args(field):
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):  # by scalar type: enums as one kind
            found.append(Candidate(name, "leaf", "enum" if is_enum_type(named) else named.name))
        elif _connection_node(field.type) is not None:
            found.append(Candidate(name, "connection", _connection_node(field.type).name))  # type: ignore[union-attr]
        elif named.name == "Metrics":
            found.append(Candidate(name, "metrics", "Metrics"))
        elif is_object_type(named):
            found.append(Candidate(name, "object", named.name))
    return found


ROOTS = sorted(
    (name, node.name)
    for name, field in QUERY.fields.items()
    if (node := _connection_node(field.type)) is not None and _optional_args(field)
)
# a half-hour DST, a southern one, none, a zone with negative DST, and one that does not exist
TIME_ZONES = [
    f'(timeZone: "{zone}")'
    for zone in ("Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu", "Europe/Dublin")
] + ['(timeZone: "Mars/Olympus_Mons")']
NESTING = 2  # connections are generated in the rows of pages this deep (0: a root page's rows)
# mostly none: a directive anywhere keeps its page on the object path
DIRECTIVES = [""] * 12 + [" @include(if: $yes)", " @skip(if: $yes)", " @include(if: $no)"]


Variables = dict[str, tuple[str, Any]]
"""Variables a generated document uses: name -> (GraphQL type, value)."""


@st.composite
def selection(
    draw: st.DrawFn,
    type_name: str,
    depth: int,
    fragments: list[str],
    variables: Variables | None = None,
    directives: bool = True,
) -> str:
    """A selection set's inside for `type_name`: fields, links, fragments and directives; with
    `variables`, some arguments are given as variables (added to it)."""
    usable = [
        c
        for c in candidates(type_name)
        if c.kind == "leaf" or (c.kind == "object" and depth < 3) or depth < NESTING
    ]
    # a kind first (each scalar type, links, connections), then a field of it: every way of
    # writing a value turns up often, however many plain strings a type has
    kinds: dict[str, list[Candidate]] = {}
    for c in usable:
        kinds.setdefault(c.type_name if c.kind == "leaf" else c.kind, []).append(c)
    pick = st.sampled_from(sorted(kinds)).flatmap(lambda kind: st.sampled_from(kinds[kind]))
    chosen = draw(st.lists(pick, min_size=1, max_size=6))
    parts = []
    seen_connections = set()
    for c in chosen:
        alias = draw(st.sampled_from(["", "", f"x_{c.name}: "]))
        directive = draw(st.sampled_from(DIRECTIVES)) if directives else ""
        if c.kind == "leaf":
            part = f"{alias}{c.name}{directive}"
        elif c.kind == "metrics":
            if (alias, c.name) in seen_connections:
                continue  # the same key with other arguments would not merge
            seen_connections.add((alias, c.name))
            part = f"{alias}{c.name}{draw(metrics_selection(variables, directives))}"
        elif c.kind == "object":
            inner = draw(selection(c.type_name, depth + 1, fragments, variables, directives))
            arguments = ""
            if c.type_name == "DateDimension":  # the workspace's zone, or one given
                arguments = draw(st.sampled_from(["", "", *TIME_ZONES]))
                if arguments and variables is not None and draw(st.booleans()):
                    name = f"v{len(variables)}"
                    variables[name] = ("String", arguments.split('"')[1])
                    arguments = f"(timeZone: ${name})"
            part = f"{alias}{c.name}{arguments}{directive} {{ {inner} }}"
        else:
            if (alias, c.name) in seen_connections:
                continue  # the same key with other arguments would not merge
            seen_connections.add((alias, c.name))
            rows_part = draw(page_rows(c.type_name, depth + 1, fragments, variables))
            arguments = draw(page_arguments(c.type_name, [1, 2, 3, 3, 500]))  # 500: too many
            if variables is not None and draw(st.booleans()):
                arguments = draw(given_as_variables(arguments, c.type_name, variables))
            part = f"{alias}{c.name}({arguments}){directive} {{ {rows_part} }}"
        if draw(st.integers(0, 5)) == 0:
            part = f"... on {type_name} {{ {part} }}"
        parts.append(part)
    if draw(st.booleans()):
        parts.append("__typename")
    return " ".join(parts)


METRICS_TYPE = GRAPHQL.type_map["Metrics"]
assert isinstance(METRICS_TYPE, GraphQLObjectType)
# the demo's days (it ends on 2026-03-29), a day without data, wall-clock and offset forms
MOMENTS = ["2026-03-26T00:00:00Z", "2026-03-28T12:00:00", "2026-03-29T00:00:00+05:45",
           "2026-04-10T00:00:00Z"]  # fmt: skip
THRESHOLD_VALUES = {
    "slaThreshold": st.integers(0, 120).map(str),
    "shortAbandonThreshold": st.integers(0, 30).map(str),
    "percentile": st.sampled_from(["0", "0.5", "0.9", "1", "1.5"]),  # 1.5: an error
    "availableActivity": st.sampled_from(['"Available"', '"Busy"']),
    "offlineActivity": st.sampled_from(['"Offline"', '"Available"']),
}
METRIC_FILTERS = ["{kind: {eq: QUEUE}}", "{direction: {eq: INBOUND}}", "{queue: {isNull: true}}"]


@st.composite
def metrics_selection(draw: st.DrawFn, variables: Variables | None, directives: bool) -> str:
    """A `metrics` field's arguments (a time range, a segment filter, a time zone, some as
    variables) and selection (metrics with thresholds, aliases, `__typename`)."""
    arguments = []
    for name in draw(st.lists(st.sampled_from(["from", "to"]), unique=True)):
        moment = draw(st.sampled_from(MOMENTS))
        if variables is not None and draw(st.booleans()):
            variable = f"v{len(variables)}"
            variables[variable] = ("DateTime", moment)
            arguments.append(f"{name}: ${variable}")
        else:
            arguments.append(f'{name}: "{moment}"')
    if draw(st.integers(0, 3)) == 0:
        arguments.append(f"filter: {draw(st.sampled_from(METRIC_FILTERS))}")
    if draw(st.integers(0, 4)) == 0:
        arguments.append(draw(st.sampled_from(TIME_ZONES))[1:-1])
    names = draw(st.lists(st.sampled_from(sorted(METRICS_TYPE.fields)), min_size=1, max_size=4))
    parts = []
    for index, name in enumerate(names):
        given = [
            f"{argument}: {draw(THRESHOLD_VALUES[argument])}"
            for argument, definition in METRICS_TYPE.fields[name].args.items()
            if is_non_null_type(definition.type) or draw(st.integers(0, 3)) == 0
        ]
        alias = f"m{index}: " if draw(st.booleans()) else ""
        directive = draw(st.sampled_from(DIRECTIVES)) if directives else ""
        parts.append(f"{alias}{name}{parenthesized(given)}{directive}")
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), "__typename")
    return f"{parenthesized(arguments)} {{ {' '.join(parts)} }}"


def parenthesized(arguments: list[str]) -> str:
    return f"({', '.join(arguments)})" if arguments else ""


@st.composite
def given_as_variables(
    draw: st.DrawFn, arguments: str, node_type: str, variables: Variables
) -> str:
    """`page_arguments`' text with its page size and (sometimes) its filter as variables."""
    size = re.match(r"(first|last): (\d+)", arguments)
    assert size is not None
    name = f"v{len(variables)}"
    variables[name] = ("Int", int(size.group(2)))
    arguments = arguments.replace(size.group(0), f"{size.group(1)}: ${name}", 1)
    found = re.search(r"filter: \{(\w+): \{isNull: (true|false)\}\}", arguments)
    if found is not None and draw(st.booleans()):
        name = f"v{len(variables)}"
        variables[name] = (
            f"{node_type}Filter",
            {found.group(1): {"isNull": found.group(2) == "true"}},
        )
        arguments = arguments.replace(found.group(0), f"filter: ${name}")
    return arguments


def declared(variables: Variables) -> list[str]:
    """The declarations of the document's variables."""
    return [f"${name}: {kind}" for name, (kind, _) in variables.items()]


def values(variables: Variables) -> dict[str, Any]:
    return {name: value for name, (_, value) in variables.items()}


@st.composite
def page_rows(
    draw: st.DrawFn,
    node_type: str,
    depth: int,
    fragments: list[str],
    variables: Variables | None = None,
) -> str:
    """What a connection selects: `nodes`, sometimes `edges`, page info and the count; named
    fragments it spreads are added to `fragments`."""
    inner = draw(selection(node_type, depth, fragments, variables))
    way = draw(st.sampled_from(["nodes", "nodes", "edges", "edges", "fragment", "twice"]))
    if way == "edges":
        text = draw(edges(inner))
    elif way == "twice":  # two keys, two selections: neither may answer with the other's fields
        other = draw(selection(node_type, depth, fragments, variables))
        text = f"nodes {{ {inner} }} again: nodes {{ {other} }}"
    elif way == "fragment":
        name = f"Rows{len(fragments)}"
        fragments.append(f"fragment {name} on {node_type} {{ {inner} }}")
        text = f"nodes {{ ...{name} }}"
    else:
        text = f"nodes {{ {inner} }}"
    if draw(st.booleans()):
        text += draw(page_info())
    if draw(st.integers(0, 3)) == 0:
        text += " totalCount"
    return text


@st.composite
def edges(draw: st.DrawFn, inner: str) -> str:
    """`edges` of rows selecting `inner`: their node mostly, cursors, type names, aliases."""
    parts = draw(st.permutations(["cursor", "c: cursor", f"node {{ {inner} }}", "__typename"]))
    return f"edges {{ {' '.join(parts[: draw(st.sampled_from([1, 2, 3, 3, 4]))])} }}"


@st.composite
def page_info(draw: st.DrawFn) -> str:
    info = ["hasNextPage", "hasPreviousPage", "startCursor", "e: endCursor", "__typename"]
    chosen = draw(st.lists(st.sampled_from(info), min_size=1, max_size=4, unique=True))
    return f" pageInfo {{ {' '.join(chosen)} }}"


@st.composite
def page_arguments(draw: st.DrawFn, node_type: str, sizes: list[int]) -> str:
    """`first` or `last`, sometimes with a filter (a value set or not) and an order on one of
    the type's sort fields."""
    text = f"{draw(st.sampled_from(['first', 'first', 'last']))}: {draw(st.sampled_from(sizes))}"
    filters = GRAPHQL.type_map.get(f"{node_type}Filter")
    nullable = sorted(
        name
        for name, field in getattr(filters, "fields", {}).items()
        if "isNull" in getattr(get_named_type(field.type), "fields", {})
    )
    if nullable and draw(st.integers(0, 2)) == 0:
        field = draw(st.sampled_from(nullable))
        text += f", filter: {{{field}: {{isNull: {draw(st.sampled_from(['true', 'false']))}}}}}"
    order_fields = GRAPHQL.type_map.get(f"{node_type}OrderField")
    seek = order_fields is not None and draw(st.integers(0, 3)) == 0
    if order_fields is not None and (seek or draw(st.booleans())):
        field = draw(st.sampled_from(sorted(order_fields.values)))  # type: ignore[attr-defined]
        direction = draw(st.sampled_from(["ASC", "DESC"]))
        text += f", orderBy: [{{field: {field}, direction: {direction}}}]"
        if seek:  # a cursor of this order (sometimes another's, or garbage)
            argument = draw(st.sampled_from(["after", "before"]))
            cursor = draw(cursors(ENTITIES[node_type], ((field.lower(), direction == "DESC"),)))
            text += f", {argument}: {json.dumps(cursor)}"
    return text


@st.composite
def cursors(draw: st.DrawFn, ent: Entity, order: OrderSpec) -> str:
    """A cursor of a row of `ent` under `order` whose sort values are drawn (no such row need
    exist: it is a position), or one of another order, or not a cursor at all."""
    kind = draw(st.sampled_from(["good"] * 8 + ["other order", "garbage"]))
    if kind == "garbage":
        return "bm90IGEgY3Vyc29y"
    if kind == "other order":
        order = ()
    row = {name: draw(sort_value(ent, name)) for name, _ in full_order(ent, order)}
    return encode_cursor(ent, order, row)


def sort_value(ent: Entity, name: str) -> st.SearchStrategy[Any]:
    column = ent.table.c[name]
    kind = column.type
    values: st.SearchStrategy[Any]
    if isinstance(kind, EpochSeconds):
        instants = st.integers(1_750_000_000, 1_800_000_000)
        values = instants.map(lambda t: datetime.fromtimestamp(t, UTC))
    elif isinstance(kind, Date):
        values = st.dates(date(2018, 1, 1), date(2027, 12, 31))
    elif isinstance(kind, Float):
        values = st.floats(0, 1_000).map(lambda x: round(x, 2))
    elif isinstance(kind, Integer):
        values = st.integers(0, 2_000)
    else:
        values = st.sampled_from(["", "A", "M", "c", "z", "é"])
    nullable = column.nullable and name != ent.key
    return st.none() | values if nullable else values


def operation(text: str, variables: Variables) -> tuple[str, dict[str, Any]]:
    """The query around a selection text, declaring the variables it uses; with their values."""
    used = [f"${name}: Boolean = {value}" for name, value in (("yes", "true"), ("no", "false"))]
    declarations = [v for v in used if v.split(":")[0] in text] + declared(variables)
    if declarations:
        return f"query ({', '.join(declarations)}) {text}", values(variables)
    return f"query {text}", {}


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    root, node_type = draw(st.sampled_from(ROOTS))
    fragments: list[str] = []
    variables: Variables = {}
    body = draw(page_rows(node_type, 0, fragments, variables))
    arguments = draw(page_arguments(node_type, list(range(1, 9))))
    text = f"{{ {root}({arguments}) {{ {body} }} }} {' '.join(fragments)}"
    return operation(text, variables)


@st.composite
def deep_documents(draw: st.DrawFn, levels: int) -> tuple[str, dict[str, Any]]:
    """A root page whose rows nest pages `levels` deep (each through a to-many link of the
    level above), every level selecting values, links, date dimensions, `nodes` or `edges`
    and page info: documents the JSON path answers in one statement, mostly."""
    root, node_type = draw(st.sampled_from(ROOTS))
    fragments: list[str] = []
    variables: Variables = {}
    chain = [(root, node_type)]
    for _ in range(levels):
        below = [c for c in candidates(chain[-1][1]) if c.kind == "connection"]
        if not below:
            break
        c = draw(st.sampled_from(below))
        chain.append((c.name, c.type_name))
    inner = ""
    for index in range(len(chain) - 1, -1, -1):
        name, type_name = chain[index]
        plain = draw(st.integers(0, 9)) > 0  # a directive anywhere: the object path
        rows = draw(selection(type_name, NESTING, fragments, variables, not plain)) + " " + inner
        if draw(st.booleans()):
            body = f"nodes {{ {rows} }}"
        else:
            body = draw(edges(rows).filter(lambda text: "node {" in text))
        if draw(st.booleans()):
            body += draw(page_info())
        arguments = draw(page_arguments(type_name, [1, 2, 3] if index else [2, 4, 6]))
        if index and draw(st.booleans()):
            arguments = draw(given_as_variables(arguments, type_name, variables))
        inner = f"{name}({arguments}) {{ {body} }}"
    text = f"{{ {inner} }} {' '.join(fragments)}"
    return operation(text, variables)


async def run(
    engine: AsyncEngine, document: str, viewer: Viewer, json_rows: bool, variables: Any = None
) -> Any:
    context = Context(engine=engine, viewer=viewer, options=Options(json_rows=json_rows))
    return await SCHEMA.execute(document, variable_values=variables, context_value=context)


def errors(result: Any) -> list[Any]:
    """The errors (message, path, code); their order follows async timing, so it is sorted."""
    return sorted((e.formatted for e in result.errors or []), key=repr)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=documents(), role=st.sampled_from(["admin", "supervisor", "agent"]))
async def test_json_rows_answer_like_objects(
    small_engine: AsyncEngine, viewers: Viewers, case: tuple[str, dict[str, Any]], role: str
) -> None:
    await answers_like_objects(small_engine, getattr(viewers, role), *case)


async def answers_like_objects(
    engine: AsyncEngine, viewer: Viewer, document: str, variables: dict[str, Any]
) -> None:
    """The JSON path's data and errors are the object path's, as sent: `true` is not `1`, and
    keys keep the document's order."""
    answered = await run(engine, document, viewer, True, variables)
    built = await run(engine, document, viewer, False, variables)
    assert json.dumps(answered.data) == json.dumps(built.data), document
    assert errors(answered) == errors(built), document


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=st.integers(1, max(MAX_PAGE_DEPTH.values()) + 1).flatmap(deep_documents),
    role=st.sampled_from(["admin", "supervisor", "agent"]),
)
async def test_deep_pages_answer_like_objects(
    small_engine: AsyncEngine, viewers: Viewers, case: tuple[str, dict[str, Any]], role: str
) -> None:
    """Pages nested as deep as the JSON path takes them (and one level more, which keeps the
    object path) answer as objects do."""
    await answers_like_objects(small_engine, getattr(viewers, role), *case)


NESTED = """
{ conversations(first: 30, orderBy: [{field: STARTED_AT, direction: DESC}]) {
    nodes { conversationId direction startedAt
      segments(first: 50) { nodes { __typename segmentId kind startedAt queue talkTime virtual
        inBusinessHours conversationMeasure1
        agent { agentId fullName dateJoined team { name department { name } } }
        customer { customerId name } } } } } }
"""


EDGES = NESTED.replace(
    "segments(first: 50) { nodes {",
    "segments(first: 50) { pageInfo { hasNextPage startCursor endCursor } edges { cursor node {",
)
EDGES = EDGES.replace("name } } } } } }", "name } } } } } } }")


VARIABLES = "query ($n: Int, $kind: SegmentKindFilter, $zone: String) " + NESTED.replace(
    "segments(first: 50)", "segments(first: $n, filter: {kind: $kind})"
).replace("queue talkTime", "queue date(timeZone: $zone) { date hour } talkTime")
GIVEN = {"n": 4, "kind": {"eq": "CONVERSATION"}, "zone": "Asia/Kathmandu"}


@pytest.mark.parametrize(
    ("document", "variables"),
    [(NESTED, None), (EDGES, None), (VARIABLES, GIVEN)],
    ids=["nodes", "edges", "variables"],
)
async def test_one_statement_per_connection_level(
    gw: Gateway, document: str, variables: Any
) -> None:
    """The page and every conversation's segments with their links two deep are one statement,
    each conversation's page of segments (with its cursors and page info, its arguments
    literals or variables) a correlated subquery of it. The object path needs more."""
    with gw.counting() as statements:
        data = await gw.query(document, variables)
    pages = [c["segments"] for c in data["conversations"]["nodes"]]
    segments = [s.get("node", s) for p in pages for s in p.get("nodes", p.get("edges", []))]
    assert any(s["agent"] and s["agent"]["team"] for s in segments)
    assert len(statements) == 1, statements
    function = "json_build_object" if gw.engine.dialect.name == "postgresql" else "json_object"
    assert function in statements[-1]
    objects = Gateway(gw.engine, Options(json_rows=False))
    with objects.counting() as object_statements:
        assert await objects.query(document, variables) == data
    assert len(object_statements) > 2


PAGED = """query ($after: String, $before: String) {
  conversations(first: 3, after: $after, orderBy: [{field: STARTED_AT, direction: DESC}]) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { conversationId
      segments(last: 2, before: %s) { pageInfo { startCursor } edges { cursor node { segmentId } } }
    } } }
  agents(last: 2, before: $before) { pageInfo { startCursor } nodes { agentId } } }"""


async def test_cursors_page_either_path(gw: Gateway) -> None:
    """A cursor the database wrote pages the object path and the other way round: walking
    three pages alternating paths (and a nested page from its own cursor) sees what each path
    sees alone."""
    objects = Gateway(gw.engine, Options(json_rows=False))
    after = before = None
    nested = "null"
    for step in range(3):
        variables = {"after": after, "before": before}
        document = PAGED % nested
        with gw.counting() as statements:
            answered = await gw.query(document, variables)
        # the JSON path: the conversations with their segments, the agents
        assert len(statements) == 2 and all("json_" in s for s in statements), statements
        built = await objects.query(document, variables)
        assert answered == built
        page = (answered, built)[step % 2]["conversations"]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        assert [e["cursor"] for e in page["edges"]][-1] == page["pageInfo"]["endCursor"]
        after = page["pageInfo"]["endCursor"]
        before = (answered, built)[step % 2]["agents"]["pageInfo"]["startCursor"]
        segments = page["edges"][0]["node"]["segments"]
        nested = json.dumps(segments["pageInfo"]["startCursor"])
    assert after is not None and before is not None


TWO_DEEP = """{ teams(first: 3) { nodes { name
  agents(first: 3) { pageInfo { hasNextPage endCursor } edges { cursor node { agentId
    segments(first: 2) { nodes { segmentId date { date hour } customer { name } } } } } } } } }"""
THREE_DEEP = "{ departments(first: 2) { nodes { name %s } } }" % TWO_DEEP[2:-2].replace(
    "teams(first: 3)", "teams(first: 2)"
)


FOUR_DEEP = THREE_DEEP.replace(
    "customer { name }", "customer { name } workload(first: 2) { nodes { talkTime } }"
)


@pytest.mark.parametrize(
    ("document", "sqlite", "postgresql"),
    [(TWO_DEEP, 1, 1), (THREE_DEEP, 2, 1), (FOUR_DEEP, 3, 1)],
    ids=["two", "three", "four"],
)
async def test_pages_nested_in_one_statement(
    gw: Gateway, document: str, sqlite: int, postgresql: int
) -> None:
    """On SQLite pages nested two deep in a page's rows are one statement; a third level is a
    statement of its own (its parent pages nested two deep again), as deeper SQL outgrows
    SQLite's parser stack. PostgreSQL takes three levels in one. The object path needs a
    statement per level."""
    expected = {"sqlite": sqlite, "postgresql": postgresql}[gw.engine.dialect.name]
    with gw.counting() as statements:
        data = await gw.query(document)
    assert len(statements) == expected, statements
    objects = Gateway(gw.engine, Options(json_rows=False))
    with objects.counting() as object_statements:
        assert await objects.query(document) == data
    assert len(object_statements) > expected


async def test_pages_too_big_for_the_engine_are_read_as_objects(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page whose JSON statement the database refuses for its size (SQLite's parser stack)
    reads its rows as objects instead, root and nested pages alike: the answer is the object
    path's, without an error. Any other failure is reported as before."""
    real = pages.run
    refused: list[str] = []

    async def limited(ctx: Any, statement: Any, params: Any = None) -> Any:
        text = str(statement)
        if "json_object" in text or "json_build_object" in text:
            refused.append(text)
            raise OperationalError(text[:40], {}, Exception("parser stack overflow"))
        return await real(ctx, statement, params)

    admin = Viewer.system()
    expected = await run(small_engine, TWO_DEEP, admin, json_rows=False)
    monkeypatch.setattr(pages, "run", limited)
    answered = await run(small_engine, TWO_DEEP, admin, json_rows=True)
    assert answered.errors is None and answered.data == expected.data
    assert len(refused) >= 3  # the teams, each level of agents, each level of segments

    async def down(ctx: Any, statement: Any, params: Any = None) -> Any:
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(pages, "run", down)
    failed = await run(small_engine, TWO_DEEP, admin, json_rows=True)
    assert failed.errors and failed.data == {"teams": None}


ROOT_EDGES = """{ segments(first: 7, orderBy: [{field: TALK_TIME, direction: DESC}]) { totalCount
  pageInfo { hasNextPage endCursor } edges { cursor node { segmentId talkTime } } } }"""


async def test_root_pages_answered_as_json_bring_their_cursors(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A root page on the GraphQL path whose rows are answered as JSON reads their cursors from
    the statement (the database writes them): none is encoded in Python, and they are the
    object path's."""
    expected = await Gateway(gw.engine, Options(json_rows=False)).query(ROOT_EDGES)
    forbid_python_cursors(monkeypatch)
    assert await gw.query(ROOT_EDGES) == expected


def forbid_python_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    def unused(*_: Any) -> Any:
        raise AssertionError("a cursor encoded in Python")

    monkeypatch.setattr(pages, "encode_cursor", unused)


NESTED_EDGES = """{ segments(first: 100, filter: {kind: {eq: CONVERSATION}}) { nodes {
  segmentId case { caseId } assessments(first: 2) { pageInfo { endCursor }
    edges { cursor node { assessmentId } } } } } }"""


async def test_nested_pages_answered_as_json_bring_their_cursors(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nested page loaded for parents that are objects (their `case` keeps the object path)
    whose rows are answered as JSON reads their cursors from its statement too."""
    expected = await Gateway(gw.engine, Options(json_rows=False)).query(NESTED_EDGES)
    assert any(s["assessments"]["edges"] for s in expected["segments"]["nodes"])
    forbid_python_cursors(monkeypatch)
    assert await gw.query(NESTED_EDGES) == expected
