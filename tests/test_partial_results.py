"""One failing field nulls only itself: a dashboard batching its widgets keeps the working ones.

Also: every error the gateway returns carries `extensions.code`.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLNamedType, GraphQLNonNull, GraphQLObjectType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.query
from tests.conftest import SCHEMA, Gateway
from tests.helpers import rows

BATCH = "{ agents(first: 2) { totalCount } segments(first: 1000) { totalCount } }"


async def post(client: httpx.AsyncClient, query: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_failing_root_field_leaves_its_siblings_their_data(
    client: httpx.AsyncClient, small_engine: AsyncEngine
) -> None:
    answer = await post(client, BATCH)
    (agents,) = await rows(small_engine, "SELECT count(*) AS n FROM agents")
    assert answer["data"] == {"agents": {"totalCount": agents["n"]}, "segments": None}
    (error,) = answer["errors"]
    assert error["path"] == ["segments"] and error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_failing_nested_connection_nulls_only_itself(gw: Gateway) -> None:
    result = await gw.execute(
        "{ agents(first: 2) { nodes { agentId segments(first: 1000) { totalCount } } } }"
    )
    nodes = result.data["agents"]["nodes"]
    assert len(nodes) == 2 and all(n["agentId"] and n["segments"] is None for n in nodes)
    assert {e.extensions["code"] for e in result.errors} == {"BAD_USER_INPUT"}


async def test_a_fault_nulls_its_field_and_is_masked_with_a_code(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> list[Any]:
        raise RuntimeError("the catalog is gone")

    monkeypatch.setattr(schema.query, "definitions", broken)
    answer = await post(client, "{ metricDefinitions { name } agents(first: 1) { totalCount } }")
    assert answer["data"]["metricDefinitions"] is None
    assert answer["data"]["agents"]["totalCount"] > 0
    (error,) = answer["errors"]
    assert error["message"] == "Internal error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "catalog" not in str(answer)


def _named(field_type: Any) -> GraphQLNamedType:
    while hasattr(field_type, "of_type"):
        field_type = field_type.of_type
    return field_type  # type: ignore[no-any-return]


def test_root_fields_and_connections_are_nullable() -> None:
    graphql_schema = SCHEMA._schema
    roots = [graphql_schema.query_type, graphql_schema.mutation_type]
    for root in roots:
        assert root is not None
        strict = [name for name, f in root.fields.items() if isinstance(f.type, GraphQLNonNull)]
        assert strict == [], f"non-null root fields of {root.name}: {strict}"
    connections = 0
    for type_ in graphql_schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, f in type_.fields.items():
            if _named(f.type).name.endswith("Connection"):
                connections += 1
                assert not isinstance(f.type, GraphQLNonNull), f"{type_.name}.{name}"
    assert connections > 20  # the walk did find the connections (root and nested)


BROKEN = [
    "{ agents(first: 2) { totalCount ",  # does not parse
    "{ agents(frist: 2) { totalCount } }",  # does not validate
    "{ agents { colour } }",
    "{ segments(first: -1) { totalCount } }",  # a refused argument
    '{ segments(after: "nope") { totalCount } }',
    '{ segments(filter: {queueTime: {eq: "long"}}) { totalCount } }',
    '{ node(id: "%%%") { id } }',
]


@pytest.mark.parametrize("query", BROKEN)
async def test_every_error_carries_a_code(client: httpx.AsyncClient, query: str) -> None:
    answer = await post(client, query)
    assert answer["errors"]
    assert all(isinstance(e.get("extensions", {}).get("code"), str) for e in answer["errors"])


async def test_wrongly_typed_variables_carry_a_code(client: httpx.AsyncClient) -> None:
    answer = await post(
        client, "query($n: Int) { agents(first: $n) { totalCount } }", variables={"n": "two"}
    )
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"]


fragments = st.sampled_from(
    ["{", "}", "(", ")", ":", "agents", "segments", "first", "totalCount", "nodes", "2",
     "-1", '"x"', "query", "$n", "...", "on", "Agent", "agentId", " "]
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(fragments, min_size=1, max_size=14).map(" ".join))
async def test_any_document_answers_data_or_coded_errors(gw: Gateway, document: str) -> None:
    result = await gw.execute(document)
    for error in result.errors or []:
        assert isinstance((error.extensions or {}).get("code"), str), error.message


async def test_an_unknown_operation_name_carries_a_code(client: httpx.AsyncClient) -> None:
    answer = await post(client, "query A { agents { totalCount } }", operationName="B")
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("request_args", "status", "code"),
    [
        ({"method": "POST", "content": b"{not json", "json_type": True}, 400, "BAD_REQUEST"),
        (
            {"method": "POST", "content": b"query=1", "json_type": False},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        ({"method": "PUT", "content": b"{}", "json_type": True}, 405, "METHOD_NOT_ALLOWED"),
    ],
)
async def test_a_refused_request_carries_a_code(
    client: httpx.AsyncClient, request_args: dict[str, Any], status: int, code: str
) -> None:
    headers = {"content-type": "application/json" if request_args["json_type"] else "text/plain"}
    response = await client.request(
        request_args["method"], "/graphql", content=request_args["content"], headers=headers
    )
    assert response.status_code == status
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code]


async def test_an_unacceptable_accept_header_carries_a_code(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ agents { totalCount } }"}, headers={"accept": "text/csv"}
    )
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"
