"""Fields declared through `schema/declare.py`: the GraphQL arguments are the declaration's, the
resolver receives them, and the fields sharing a declaration expose the same arguments."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import strawberry
from graphql import GraphQLObjectType, print_schema
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types import Info

from schema import build_schema
from schema.declare import argument, arguments_of, declared_field


@dataclasses.dataclass(frozen=True)
class EchoArguments:
    """A declaration with a required argument, a renamed one and a non-null default."""

    needed: Annotated[int, strawberry.argument(description="A required number.")]
    start: Annotated[str | None, strawberry.argument(name="from", description="Renamed.")] = None
    count: Annotated[int | None, strawberry.argument(description="With a default.")] = 3


def _echo(info: Info, **values: Any) -> str:
    arguments = EchoArguments(**values)
    return json.dumps([info.field_name, dataclasses.asdict(arguments)])


def _scaled(root: Any, **values: Any) -> float:
    return float(values["factor"]) * 2


@strawberry.type
class Query:
    echo = declared_field(
        _echo, returns=str, arguments=arguments_of(EchoArguments), description="Echo."
    )
    scaled = declared_field(
        _scaled,
        returns=float | None,
        arguments=[argument("factor", float, "What to double.")],
        description="Doubles.",
    )


ECHO_SCHEMA = strawberry.Schema(query=Query)


def test_the_sdl_shows_the_declared_arguments() -> None:
    printed = print_schema(ECHO_SCHEMA._schema)
    assert '"""A required number."""\n    needed: Int!' in printed
    assert '"""Renamed."""\n    from: String = null' in printed
    assert '"""With a default."""\n    count: Int = 3' in printed
    assert '"""What to double."""\n    factor: Float!\n  ): Float' in printed


@settings(max_examples=25, deadline=None)
@given(
    needed=st.integers(-(2**31), 2**31 - 1),
    start=st.none() | st.text(max_size=8),
    count=st.none() | st.integers(0, 1000),
    factor=st.floats(-1e6, 1e6),
)
def test_the_resolver_receives_the_arguments_as_declared(
    needed: int, start: str | None, count: int | None, factor: float
) -> None:
    # without `count` the declared default applies
    declared, passed = ("", "") if count is None else (", $count: Int", ", count: $count")
    document = (
        f"query($needed: Int!, $from: String, $factor: Float!{declared}) {{"
        f" echo(needed: $needed, from: $from{passed}) scaled(factor: $factor) }}"
    )
    variables = {"needed": needed, "from": start, "factor": factor}
    if count is not None:
        variables["count"] = count
    result = ECHO_SCHEMA.execute_sync(document, variable_values=variables)
    assert result.errors is None
    assert result.data is not None
    expected = {"needed": needed, "start": start, "count": 3 if count is None else count}
    assert json.loads(result.data["echo"]) == ["echo", expected]
    assert result.data["scaled"] == factor * 2


def test_a_missing_required_argument_is_a_graphql_error() -> None:
    result = ECHO_SCHEMA.execute_sync("{ echo }")
    assert result.errors is not None
    assert "needed" in result.errors[0].message


def _arguments(type_name: str, field_name: str) -> list[tuple[str, str, Any, str | None]]:
    graphql_type = build_schema()._schema.get_type(type_name)
    assert isinstance(graphql_type, GraphQLObjectType)
    return [
        (name, str(arg.type), arg.default_value, arg.description)
        for name, arg in graphql_type.fields[field_name].args.items()
    ]


def test_the_report_query_and_the_live_report_take_the_same_arguments() -> None:
    query = _arguments("Query", "report")
    assert [name for name, *_ in query][:3] == ["groupBy", "from", "to"]
    assert _arguments("Subscription", "report") == query
