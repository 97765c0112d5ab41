"""Every filter a client can pass is scoped: found in the schema itself, tried with generated filters.

The schema is walked for every field argument whose type is an entity filter input (root and nested
connections, `metrics`, `report`, anything added later), so a new one is tried without editing this
file. For an agent and for a supervisor, hypothesis generates filters over every attribute and link
of the filter type with values taken from every row of the database (other agents' and teams' rows
included). The answer must be either a refusal (a hidden field, or a data set the role cannot see at
all) or exactly the answer an admin gets for the same document when every filter of it, down to
the links inside the generated one, is restricted to the caller's rows. The caller's rows come from
plain SQL here (`tests/test_scope.py`), never from the scope code under test.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import Context, Options
from resolvers.entities import ENTITIES
from resolvers.viewer import Role, Viewer
from tests.conftest import SCHEMA, Gateway
from tests.helpers import as_json, camel, rows, snake, table_rows
from tests.test_scope import EXPECTED, World, find_world, keys
from warehouse import tables as t

GRAPHQL: GraphQLSchema = SCHEMA._schema
SUBSCRIPTION = GRAPHQL.subscription_type.name if GRAPHQL.subscription_type else "Subscription"
ROOTS = frozenset({"Query", SUBSCRIPTION})  # fields on them are asked directly
COMBINATORS = ("and", "or", "not")

# what the README promises, stated here rather than read from the code under test
REFERENCE_DATA = frozenset({"Team", "Department", "Queue", "Campaign", "Project", "Initiative"})
HIDDEN_FROM_AGENTS = frozenset({("CustomerFilter", "phone"), ("CustomerFilter", "email")})
SUPERVISOR = "SUP-TEST"


def is_entity_filter(named: Any) -> bool:
    """An entity's filter input: it combines with `and`/`or`/`not` (operator inputs do not)."""
    return isinstance(named, GraphQLInputObjectType) and "and" in named.fields


def filter_entity(filter_type: str) -> str:
    return filter_type.removesuffix("Filter")


@dataclass(frozen=True)
class FilterArgument:
    """One field argument of an entity filter type, with the field's other required arguments."""

    parent: str
    field: str
    argument: str
    filter_type: str
    returns: str

    @property
    def id(self) -> str:
        return f"{self.parent}.{self.field}({self.argument})"


def schema_arguments() -> Iterator[tuple[str, str, Any, str, Any]]:
    """Every argument of every field of the schema's object types: (type, field, its
    definition, argument, the argument's named type)."""
    for named in GRAPHQL.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, definition in named.fields.items():
            for arg_name, arg in definition.args.items():
                yield named.name, name, definition, arg_name, get_named_type(arg.type)


def filter_arguments() -> list[FilterArgument]:
    found = []
    for parent, name, definition, arg_name, arg_type in schema_arguments():
        if is_entity_filter(arg_type):
            returns = get_named_type(definition.type).name
            found.append(FilterArgument(parent, name, arg_name, arg_type.name, returns))
    return sorted(found, key=lambda a: a.id)


ARGUMENTS = filter_arguments()


def test_the_schema_walk_finds_every_kind_of_filter_argument() -> None:
    """A guard on the walk itself: it sees root, nested, metrics and report filters."""
    ids = {a.id for a in ARGUMENTS}
    assert {"Query.segments(filter)", "Query.report(filter)", "Customer.segments(filter)"} <= ids
    assert "Agent.metrics(filter)" in ids
    assert len(ARGUMENTS) > 40


# --- the way to a field: a chain of connections from the root -----------------------------------


def connection_node(type_name: str) -> str | None:
    named = GRAPHQL.type_map.get(type_name)
    if isinstance(named, GraphQLObjectType) and {"nodes", "totalCount"} <= set(named.fields):
        return get_named_type(named.fields["nodes"].type).name
    return None


def required_arguments(parent: str, field: str) -> dict[str, GraphQLInputType]:
    definition = GRAPHQL.type_map[parent].fields[field]  # type: ignore[union-attr]
    return {n: a.type for n, a in definition.args.items() if isinstance(a.type, GraphQLNonNull)}


@cache
def path_to(type_name: str) -> tuple[tuple[str, str], ...]:
    """Connections (field, node type) leading from `Query` to rows of `type_name`, shortest first;
    each takes a filter, so the admin's version can restrict the parents too."""
    queue: deque[tuple[str, tuple[tuple[str, str], ...]]] = deque([("Query", ())])
    seen = {"Query"}
    while queue:
        current, path = queue.popleft()
        if current == type_name:
            return path
        for name, definition in GRAPHQL.type_map[current].fields.items():  # type: ignore[union-attr]
            node = connection_node(get_named_type(definition.type).name)
            if node is None or node in seen or required_arguments(current, name):
                continue
            if "filter" not in definition.args:
                continue
            seen.add(node)
            queue.append((node, (*path, (name, node))))
    raise AssertionError(f"no chain of connections from Query reaches {type_name}")


# --- what to select: every value, entities by key only (their own fields are scoped elsewhere) ---


def selection(type_name: str, depth: int = 0) -> str:
    named = GRAPHQL.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    node = connection_node(type_name)
    if node is not None:
        return "totalCount nodes { %s }" % selection(node, depth + 1)
    if type_name in ENTITIES:
        return camel(ENTITIES[type_name].key)
    parts = []
    for name, definition in named.fields.items():
        if required_arguments(type_name, name):
            continue
        target = get_named_type(definition.type)
        if isinstance(target, GraphQLObjectType):
            if depth < 3:
                parts.append("%s { %s }" % (name, selection(target.name, depth + 1)))
        else:
            parts.append(name)
    return " ".join(parts)


# --- whose rows: the caller's rows of each entity, in plain SQL ---------------------------------


@dataclass(frozen=True)
class Caller:
    """A restricted viewer, its gateway and, per entity, the keys of its rows (None: every row)."""

    name: str
    viewer: Viewer
    rows: dict[str, frozenset[Any] | None] = field(repr=False)
    gateway: Gateway = field(repr=False)
    admin: Gateway = field(repr=False)  # the same database asked as admin

    def scope(self, entity: str) -> frozenset[Any] | None:
        if entity in REFERENCE_DATA:
            return None
        return self.rows.get(entity, frozenset())  # no rule: nothing (deny by default)

    def hides(self, filter_type: str, field: str) -> bool:
        return self.viewer.role is Role.AGENT and (filter_type, field) in HIDDEN_FROM_AGENTS


async def _caller_rows(engine: AsyncEngine, role: Role, world: World) -> dict[str, Any]:
    by_key = {camel(e.key): name for name, e in ENTITIES.items()}
    found: dict[str, frozenset[Any] | None] = {}
    for _, key, agent_sql, team_sql in EXPECTED:
        if role is Role.AGENT:
            found[by_key[key]] = frozenset(await keys(engine, agent_sql, agent=world.me))
        else:
            found[by_key[key]] = frozenset(await keys(engine, team_sql, team=world.my_team))
    return found


@pytest.fixture(scope="module")
async def world(small_engine: AsyncEngine) -> World:
    return await find_world(small_engine)


@pytest.fixture(scope="module")
async def callers(small_engine: AsyncEngine, world: World) -> dict[str, Caller]:
    agent = Viewer(Role.AGENT, "agent-user", agent_id=world.me)
    supervisor = Viewer(Role.SUPERVISOR, SUPERVISOR, team_ids=frozenset({world.my_team}))
    # "now" for the live picture: a minute after the caller's latest segment, so it shows some
    mine = {"agent": t.segments.c.agent_id == world.me}
    mine["supervisor"] = t.segments.c.handling_team_id == world.my_team
    options = {}
    for name, condition in mine.items():
        async with small_engine.connect() as conn:
            latest = (
                await conn.execute(select(func.max(t.segments.c.started_at)).where(condition))
            ).scalar_one()
        instant = (latest + timedelta(minutes=1)).timestamp()
        options[name] = Options(clock=lambda instant=instant: instant)  # type: ignore[misc]
    # one gateway each: a gateway listens to the engine's statements for as long as it lives
    admin = Gateway(small_engine, viewer=Viewer.system())
    return {
        name: Caller(
            name,
            viewer,
            await _caller_rows(small_engine, viewer.role, world),
            Gateway(small_engine, options[name], viewer=viewer),
            admin,
        )
        for name, viewer in (("agent", agent), ("supervisor", supervisor))
    }


# --- generated filters, with values from every row of the database -------------------------------


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return as_json(value)
    return value


class Pools:
    """Distinct values of every column of every entity, keyed by (entity, column), and the
    filter strategies made of them (built once: a filter type's tree of links is large)."""

    def __init__(self) -> None:
        self.columns: dict[tuple[str, str], list[Any]] = {}
        self.strategies: dict[tuple[str, int], st.SearchStrategy[dict[str, Any]]] = {}

    def __repr__(self) -> str:  # hypothesis prints its arguments: not thousands of values
        return f"Pools({len(self.columns)} columns)"


@pytest.fixture(scope="module")
async def values(small_engine: AsyncEngine) -> Pools:
    found = Pools()
    for name in ENTITIES:
        columns: dict[str, set[Any]] = {}
        for row in await table_rows(small_engine, name):
            for column, value in row.items():
                if value is not None:
                    columns.setdefault(column, set()).add(_json(value))
        for column, seen in columns.items():
            found.columns[(name, column)] = sorted(seen, key=str)
    return found


# any text but NUL, which every text argument refuses (a test of its own)
TEXT = st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=3)
FALLBACK: dict[str, st.SearchStrategy[Any]] = {
    "String": TEXT,
    "ID": TEXT,
    "Int": st.integers(-5, 5000),
    "Float": st.floats(-5, 5000, allow_nan=False),
    "Boolean": st.booleans(),
    "DateTime": st.sampled_from(["2026-03-26T00:00:00+00:00", "2026-03-28T12:30:00+00:00"]),
    "Date": st.sampled_from(["2026-03-26", "2026-03-28"]),
}


def _scalar(named: Any, pool: list[Any]) -> st.SearchStrategy[Any]:
    if isinstance(named, GraphQLEnumType):
        return st.sampled_from(sorted(named.values))
    fallback = FALLBACK.get(named.name, st.none())
    python = {"String": str, "ID": str, "Int": int, "Float": float, "Boolean": bool}.get(named.name)
    fitting = [v for v in pool if python is None or type(v) is python] if python else pool
    if named.name in ("DateTime", "Date"):
        fitting = [v for v in pool if isinstance(v, str)]
    if not fitting:
        return fallback
    return st.one_of(st.sampled_from(fitting), fallback)


def _operand(op_type: Any, op: str, pool: list[Any]) -> st.SearchStrategy[Any]:
    named = get_named_type(op_type)
    if op in ("contains", "startsWith") and named.name == "String":
        strings = [v for v in pool if isinstance(v, str)] or ["a"]
        return st.sampled_from(strings).flatmap(
            lambda v: st.integers(0, len(v)).map(lambda n: v[:n])
        )
    element = _scalar(named, pool)
    inner = op_type.of_type if isinstance(op_type, GraphQLNonNull) else op_type
    if isinstance(inner, GraphQLList):
        return st.lists(element, max_size=3)
    return element


def entity_filters(filter_type: str, depth: int, pools: Pools) -> st.SearchStrategy[dict[str, Any]]:
    """Filters of `filter_type`: attributes with values of any row, links, `and`/`or`/`not`."""
    key = (filter_type, depth)
    if key not in pools.strategies:
        pools.strategies[key] = _entity_filters(filter_type, depth, pools)
    return pools.strategies[key]


def _entity_filters(
    filter_type: str, depth: int, pools: Pools
) -> st.SearchStrategy[dict[str, Any]]:
    named = GRAPHQL.type_map[filter_type]
    assert isinstance(named, GraphQLInputObjectType)
    entity = filter_entity(filter_type)
    options: list[st.SearchStrategy[dict[str, Any]]] = []
    links: list[st.SearchStrategy[dict[str, Any]]] = []
    for name, input_field in named.fields.items():
        if name in COMBINATORS:
            continue
        target = get_named_type(input_field.type)
        if is_entity_filter(target):
            if depth > 0:
                sub = entity_filters(target.name, depth - 1, pools)
                links.append(sub.map(lambda f, n=name: {n: f}))  # type: ignore[misc]
            continue
        assert isinstance(target, GraphQLInputObjectType), (filter_type, name)
        pool = pools.columns.get((entity, snake(name)), [])
        for op, op_field in target.fields.items():
            operand = _operand(op_field.type, op, pool)
            options.append(operand.map(lambda v, n=name, o=op: {n: {o: v}}))  # type: ignore[misc]
    # links as often as attributes: they are where other rows could be reached
    leaf = st.one_of(st.one_of(options), st.one_of(links)) if links else st.one_of(options)
    if depth == 0:
        return leaf
    nested = entity_filters(filter_type, depth - 1, pools)
    combined = st.sampled_from(COMBINATORS).flatmap(
        lambda c: st.lists(nested, min_size=1, max_size=2).map(lambda fs: {c: fs})
    )
    return st.one_of(leaf, leaf, combined)


def restricted_to(caller: Caller, filter_type: str, flt: dict[str, Any] | None) -> Any:
    """`flt` with every entity filter in it, links included, limited to the caller's rows."""
    named = GRAPHQL.type_map[filter_type]
    assert isinstance(named, GraphQLInputObjectType)
    inner: dict[str, Any] = {}
    for name, value in (flt or {}).items():
        target = get_named_type(named.fields[name].type)
        if name in COMBINATORS:
            inner[name] = [restricted_to(caller, filter_type, v) for v in value]
        elif is_entity_filter(target):
            inner[name] = restricted_to(caller, target.name, value)
        else:
            inner[name] = value
    entity = filter_entity(filter_type)
    allowed = caller.scope(entity)
    if allowed is None:
        return inner or None
    key = camel(ENTITIES[entity].key)
    return {"and": [inner, {key: {"in": sorted(allowed)}}]}


def touches_hidden(caller: Caller, filter_type: str, flt: Any) -> bool:
    named = GRAPHQL.type_map[filter_type]
    assert isinstance(named, GraphQLInputObjectType)
    for name, value in (flt or {}).items():
        target = get_named_type(named.fields[name].type)
        if name in COMBINATORS:
            if any(touches_hidden(caller, filter_type, v) for v in value):
                return True
        elif is_entity_filter(target):
            if touches_hidden(caller, target.name, value):
                return True
        elif caller.hides(filter_type, name):
            return True
    return False


# --- one document, asked by the caller and by an admin over the caller's rows --------------------


def _type_text(gql_type: Any) -> str:
    return str(gql_type)


# report rows are reached through `report(filter:)`, whose filter bounds them like a connection's
REPORT_ROWS = "report.rows"


def route(parent: str) -> tuple[tuple[str, str], ...]:
    """The filtered steps from `Query` to rows of `parent` (none for a root's own fields)."""
    if parent in ROOTS:
        return ()
    if parent == "ReportRow":
        return ((REPORT_ROWS, "Segment"),)
    return path_to(parent)


def document(argument: FilterArgument) -> str:
    """The document reaching the argument through filtered connections: `$f` is its filter,
    `$p0..` the parents' filters, `$r_<name>` the field's other required arguments."""
    path = route(argument.parent)
    variables = [f"$f: {argument.filter_type}"]
    required = required_arguments(argument.parent, argument.field)
    variables += [f"$r_{n}: {_type_text(t)}" for n, t in required.items()]
    arguments = [f"{argument.argument}: $f"] + [f"{n}: $r_{n}" for n in required]
    body = "%s(%s) { %s }" % (argument.field, ", ".join(arguments), selection(argument.returns))
    for index in reversed(range(len(path))):
        field, node = path[index]
        variables.append(f"$p{index}: {node}Filter")
        if field == REPORT_ROWS:
            body = "report(groupBy: [QUEUE], filter: $p%d) { rows { key { queue } %s } }" % (
                index,
                body,
            )
            continue
        body = "%s(first: 3, filter: $p%d) { nodes { %s } }" % (field, index, body)
    operation = "subscription" if argument.parent == SUBSCRIPTION else "query"
    return "%s(%s) { %s }" % (operation, ", ".join(variables), body)


def required_values(argument: FilterArgument) -> st.SearchStrategy[dict[str, Any]]:
    found: dict[str, st.SearchStrategy[Any]] = {}
    for name, gql_type in required_arguments(argument.parent, argument.field).items():
        inner = gql_type.of_type  # type: ignore[attr-defined]
        if isinstance(inner, GraphQLList):
            element = get_named_type(inner)
            assert isinstance(element, GraphQLEnumType), f"teach this test {argument.id}.{name}"
            found[f"r_{name}"] = st.lists(
                st.sampled_from(sorted(element.values)), max_size=2, unique=True
            )
        else:
            found[f"r_{name}"] = _scalar(get_named_type(inner), [])
    return st.fixed_dictionaries(found)


def same(left: Any, right: Any) -> bool:
    """Equal answers; floats of the same rows may differ in the last bits between plans."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) or isinstance(right, float):
        return (
            isinstance(left, int | float)
            and isinstance(right, int | float)
            and math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
        )
    return bool(left == right)


def without_report_cursors(data: Any) -> Any:
    """The answer without report row cursors: they name the report they came from (its filter
    included), so the caller's and the admin's differ by design while their rows are the same."""
    if isinstance(data, list):
        return [without_report_cursors(item) for item in data]
    if not isinstance(data, dict):
        return data
    report = "totalRows" in data
    cleaned = {k: without_report_cursors(v) for k, v in data.items()}
    if report:
        if isinstance(cleaned.get("pageInfo"), dict):
            cleaned["pageInfo"] = {
                k: v for k, v in cleaned["pageInfo"].items() if not k.endswith("Cursor")
            }
        for row in cleaned.get("rows") or []:
            if isinstance(row, dict):
                row.pop("cursor", None)
    return cleaned


def refusal(result: Any) -> list[str]:
    """The refusal messages of a result, if every error of it is a refusal, else []."""
    if not result.errors:
        return []
    if any((e.extensions or {}).get("code") != "FORBIDDEN" for e in result.errors):
        return []
    return [e.message for e in result.errors]


async def ask(gateway: Gateway, argument: FilterArgument, query: str, variables: Any) -> Any:
    """The answer to a query, or a subscription's first result (sent at once)."""
    if argument.parent != SUBSCRIPTION:
        return await gateway.execute(query, variables)
    context = Context(engine=gateway.engine, options=gateway.options, viewer=gateway.viewer)
    stream = await SCHEMA.subscribe(query, variable_values=variables, context_value=context)
    if not isinstance(stream, AsyncGenerator):
        return stream  # refused before it started
    try:
        return await anext(stream)
    finally:
        await stream.aclose()


async def check(
    caller: Caller,
    argument: FilterArgument,
    flt: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    query = document(argument)
    path = route(argument.parent)
    mine = await ask(caller.gateway, argument, query, {"f": flt, **extra})
    if touches_hidden(caller, argument.filter_type, flt):
        messages = refusal(mine)
        assert messages and all("hidden for your role" in m for m in messages), mine
        return
    unreadable = caller.scope(argument.returns) == frozenset() or any(
        caller.scope(node) == frozenset() for _, node in path
    )
    if unreadable and refusal(mine):
        return  # a data set this role may not read at all: refused as a whole
    admin_variables = {
        "f": restricted_to(caller, argument.filter_type, flt),
        **extra,
        **{
            f"p{i}": restricted_to(caller, f"{node}Filter", None)
            for i, (_, node) in enumerate(path)
        },
    }
    expected = await ask(caller.admin, argument, query, admin_variables)
    assert not refusal(mine), (mine.errors, flt)
    mine_errors = sorted(e.message for e in mine.errors or [])
    expected_errors = sorted(e.message for e in expected.errors or [])
    assert mine_errors == expected_errors, (flt, mine_errors, expected_errors)
    mine_data, expected_data = (
        without_report_cursors(mine.data),
        without_report_cursors(expected.data),
    )
    assert same(mine_data, expected_data), (flt, mine.data, expected.data)


@pytest.mark.parametrize("role", ["agent", "supervisor"])
@pytest.mark.parametrize("argument", ARGUMENTS, ids=lambda a: a.id)
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_a_filter_reaches_only_the_callers_rows(
    callers: dict[str, Caller],
    values: Pools,
    argument: FilterArgument,
    role: str,
    data: st.DataObject,
) -> None:
    flt = data.draw(entity_filters(argument.filter_type, 2, values), label="filter")
    extra = data.draw(required_values(argument), label="required")
    await check(callers[role], argument, flt, extra)


def hidden_paths(filter_type: str, depth: int) -> list[dict[str, Any]]:
    """A filter on each hidden field reachable from `filter_type` through links."""
    named = GRAPHQL.type_map[filter_type]
    assert isinstance(named, GraphQLInputObjectType)
    found: list[dict[str, Any]] = []
    for name, input_field in named.fields.items():
        target = get_named_type(input_field.type)
        if name in COMBINATORS:
            continue
        if is_entity_filter(target):
            if depth > 0:
                found += [{name: sub} for sub in hidden_paths(target.name, depth - 1)]
        elif (filter_type, name) in HIDDEN_FROM_AGENTS:
            found.append({name: {"isNull": False}})
    return found


@pytest.mark.parametrize("argument", ARGUMENTS, ids=lambda a: a.id)
async def test_an_agent_cannot_filter_on_a_hidden_field_through_any_argument(
    callers: dict[str, Caller], argument: FilterArgument
) -> None:
    """Every hidden field a filter argument can reach (through up to two links, or under `not`)
    is refused to an agent: the generated filters above may not happen to hit them all."""
    caller = callers["agent"]
    extra = {f"r_{n}": [] for n in required_arguments(argument.parent, argument.field)}
    probes = hidden_paths(argument.filter_type, 2)
    for flt in probes + [{"not": [p]} for p in probes[:1]]:
        await check(caller, argument, flt, extra)


async def test_the_oracle_sees_other_rows(small_engine: AsyncEngine, world: World) -> None:
    """The generated values include the other agent's and team's rows (else nothing is tried)."""
    theirs = await rows(
        small_engine, "SELECT COUNT(*) AS n FROM segments WHERE agent_id = :a", a=world.other
    )
    assert theirs[0]["n"] > 0


# --- the probes of the issue, with their answers in plain SQL -----------------------------------

LINKED = """SELECT
  (SELECT COUNT(*) FROM segments s JOIN segments p ON p.segment_id = s.preceded_by_id
    WHERE s.{column} = :me AND p.{column} = :me) AS scoped,
  (SELECT COUNT(*) FROM segments s WHERE s.{column} = :me AND s.preceded_by_id IS NOT NULL)
    AS unscoped"""


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_a_report_filter_through_a_link_counts_only_linked_rows_the_caller_sees(
    small_engine: AsyncEngine, callers: dict[str, Caller], world: World, role: str
) -> None:
    """`report(filter: {precededBy: ...})` used to match segments preceded by anyone's."""
    column, me = ("agent_id", world.me) if role == "agent" else ("handling_team_id", world.my_team)
    (counts,) = await rows(small_engine, LINKED.format(column=column), me=me)
    assert counts["scoped"] != counts["unscoped"], "the probe should tell the two apart"
    query = """{ report(groupBy: [], filter: {precededBy: {segmentId: {isNull: false}}}) {
      total { segments } rows { metrics { segments } segments { totalCount } } } }"""
    report = (await callers[role].gateway.query(query))["report"]
    assert report["total"]["segments"] == counts["scoped"]
    assert [r["segments"]["totalCount"] for r in report["rows"]] == [counts["scoped"]]


async def test_grouping_a_report_by_a_hidden_column_is_refused(
    callers: dict[str, Caller], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No dimension groups by contact data today; one that did would be refused to agents.
    The queue stands in for a hidden column here."""
    from resolvers import scope

    query = "{ report(groupBy: [QUEUE]) { rows { metrics { segments } } } }"
    assert await callers["agent"].gateway.query(query)
    hidden = {**scope.CONTACT_COLUMNS, "Segment": frozenset({"queue"})}
    monkeypatch.setattr(scope, "CONTACT_COLUMNS", hidden)
    messages = await callers["agent"].gateway.errors(query)
    assert messages == ["Cannot group Segment by queue: hidden for your role."]
    assert await callers["supervisor"].gateway.query(query)


async def test_a_request_without_a_viewer_sees_no_scoped_row(small_engine: AsyncEngine) -> None:
    """`/graphql` listed as public by mistake: no credentials, no rows (not an admin's view)."""
    from tests.helpers import app_client

    public = ["/healthz", "/graphql"]
    async with app_client(small_engine, "203.0.113.9", public_paths=public) as client:
        response = await client.post(
            "/graphql", json={"query": "{ segments { totalCount } teams { totalCount } }"}
        )
    data = response.json()["data"]
    assert data["segments"]["totalCount"] == 0
    assert data["teams"]["totalCount"] > 0  # names of reference data, as for any role


# --- filters that are not an entity's (the live picture's): never wider than no filter ----------


def other_filter_arguments() -> list[FilterArgument]:
    """Arguments typed by a `...Filter` input that is not an entity filter (no `and`/`or`)."""
    found = []
    for named in GRAPHQL.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, definition in named.fields.items():
            for arg_name, arg in definition.args.items():
                arg_type = get_named_type(arg.type)
                if (
                    isinstance(arg_type, GraphQLInputObjectType)
                    and arg_type.name.endswith("Filter")
                    and not is_entity_filter(arg_type)
                ):
                    returns = get_named_type(definition.type).name
                    found.append(FilterArgument(named.name, name, arg_name, arg_type.name, returns))
    return sorted(found, key=lambda a: a.id)


OTHER_ARGUMENTS = other_filter_arguments()


Hop = tuple[str, bool, tuple[str, ...]]


def list_arguments_only(parent: str, field: str) -> tuple[str, ...] | None:
    """The field's required arguments if each takes a list (given as `[]`), else None."""
    required = required_arguments(parent, field)
    if all(isinstance(t.of_type, GraphQLList) for t in required.values()):  # type: ignore[attr-defined]
        return tuple(required)
    return None


@cache
def hops_to(type_name: str) -> tuple[Hop, ...]:
    """(field, is a connection, its required list arguments) from `Query` to `type_name`."""
    queue: deque[tuple[str, tuple[Hop, ...]]] = deque([("Query", ())])
    seen = {"Query"}
    while queue:
        current, path = queue.popleft()
        if current == type_name:
            return path
        for name, definition in GRAPHQL.type_map[current].fields.items():  # type: ignore[union-attr]
            target = get_named_type(definition.type)
            node = connection_node(target.name)
            reached = node or target.name
            required = list_arguments_only(current, name)
            if (
                isinstance(target, GraphQLObjectType)
                and required is not None
                and reached not in seen
            ):
                seen.add(reached)
                queue.append((reached, (*path, (name, node is not None, required))))
    raise AssertionError(f"nothing without arguments leads from Query to {type_name}")


def other_document(argument: FilterArgument) -> str:
    body = "%s(%s: $f) { %s }" % (argument.field, argument.argument, selection(argument.returns))
    return "query($f: %s) { %s }" % (argument.filter_type, wrapped(argument.parent, body))


def wrapped(parent: str, body: str) -> str:
    """`body` (a selection on `parent`) reached from the root through `hops_to(parent)`."""
    for hop, is_connection, required in reversed(hops_to(parent)):
        arguments = ", ".join(["first: 3"] * is_connection + [f"{n}: []" for n in required])
        arguments = f"({arguments})" if arguments else ""
        body = (
            f"{hop}{arguments} {{ nodes {{ {body} }} }}"
            if is_connection
            else f"{hop}{arguments} {{ {body} }}"
        )
    return body


def answers_at(data: Any, argument: FilterArgument) -> list[Any]:
    """The argument's field's answer under each parent the document reached, in order."""
    found = [data]
    for hop, is_connection, _ in hops_to(argument.parent):
        step = []
        for value in found:
            inner = value[hop] if value is not None else None
            inner = inner["nodes"] if is_connection and inner is not None else inner
            step.extend(inner if isinstance(inner, list) else [inner])
        found = step
    return [value[argument.field] if value is not None else None for value in found]


def other_filters(filter_type: str, pools: Pools) -> st.SearchStrategy[dict[str, Any]]:
    """Values for each attribute, from every entity column of the same name."""
    named = GRAPHQL.type_map[filter_type]
    assert isinstance(named, GraphQLInputObjectType)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, input_field in named.fields.items():
        operators = get_named_type(input_field.type)
        assert isinstance(operators, GraphQLInputObjectType), (filter_type, name)
        pool = [v for (_, c), vs in pools.columns.items() if c == snake(name) for v in vs]
        fields[name] = st.one_of(
            *(
                _operand(op_field.type, op, pool).map(lambda v, o=op: {o: v})  # type: ignore[misc]
                for op, op_field in operators.fields.items()
            )
        )
    return st.fixed_dictionaries({}, optional=fields)


def test_the_schema_walk_finds_the_live_pictures_filters() -> None:
    assert {a.id for a in OTHER_ARGUMENTS} >= {"Realtime.queues(filter)", "Realtime.agents(filter)"}


@pytest.mark.parametrize("role", ["agent", "supervisor"])
@pytest.mark.parametrize("argument", OTHER_ARGUMENTS, ids=lambda a: a.id)
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_a_filter_of_another_kind_never_widens_the_callers_view(
    callers: dict[str, Caller], values: Pools, argument: FilterArgument, role: str, data: Any
) -> None:
    """Such filters have no admin oracle (their rows are not an entity's): the filtered answer
    must be part of the same caller's unfiltered one, or a refusal; the unfiltered answers' own
    scope is checked by the tests of the feature (`tests/test_realtime.py`)."""
    caller = callers[role]
    flt = data.draw(other_filters(argument.filter_type, values), label="filter")
    query = other_document(argument)
    unfiltered = await caller.gateway.query(query, {"f": None})
    result = await caller.gateway.execute(query, {"f": flt})
    if refusal(result):
        return
    assert result.errors is None, result.errors
    filtered = json_data(result.data)
    everywhere = answers_at(unfiltered, argument)
    assert any(everywhere), "the caller should see something here, else nothing is tried"
    for everything, kept in zip(everywhere, answers_at(filtered, argument), strict=True):
        assert isinstance(everything, list) and isinstance(kept, list)
        assert all(item in everything for item in kept), (flt, kept, everything)


def json_data(data: Any) -> Any:
    import json

    return json.loads(json.dumps(data, default=str))


# --- orders: a hidden field cannot sort the rows either -----------------------------------------


@dataclass(frozen=True)
class OrderArgument:
    parent: str
    field: str
    argument: str
    entity: str
    values: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.parent}.{self.field}({self.argument})"


def order_arguments() -> list[OrderArgument]:
    """Arguments typed by an entity's order input (`{field: ..., direction: ...}`)."""
    found = []
    for parent, name, _, arg_name, arg_type in schema_arguments():
        if not isinstance(arg_type, GraphQLInputObjectType) or "field" not in arg_type.fields:
            continue
        enum = get_named_type(arg_type.fields["field"].type)
        assert isinstance(enum, GraphQLEnumType)
        entity = arg_type.name.removesuffix("Order")
        found.append(OrderArgument(parent, name, arg_name, entity, tuple(enum.values)))
    return sorted(found, key=lambda a: a.id)


ORDER_ARGUMENTS = order_arguments()


@pytest.mark.parametrize("argument", ORDER_ARGUMENTS, ids=lambda a: a.id)
async def test_an_agent_cannot_order_by_a_hidden_field_through_any_argument(
    callers: dict[str, Caller], argument: OrderArgument
) -> None:
    caller = callers["agent"]
    hidden = [
        v for v in argument.values if caller.hides(f"{argument.entity}Filter", camel(v.lower()))
    ]
    shown = [v for v in argument.values if v not in hidden][:1]
    key = camel(ENTITIES[argument.entity].key)
    for value in hidden + shown:
        body = "%s(orderBy: [{field: %s, direction: DESC}]) { totalCount nodes { %s } }" % (
            argument.field,
            value,
            key,
        )
        result = await caller.gateway.execute("{ %s }" % wrapped(argument.parent, body))
        if value in hidden:
            messages = refusal(result)
            assert messages and all("hidden for your role" in m for m in messages), result
        elif caller.scope(argument.entity) != frozenset():  # else refused as a whole, or empty
            assert not refusal(result), (value, result.errors)


def test_the_schema_walk_finds_the_orders_of_hidden_fields() -> None:
    customers = [a for a in ORDER_ARGUMENTS if a.entity == "Customer"]
    assert customers and all({"PHONE", "EMAIL"} <= set(a.values) for a in customers)
