"""`/graphql` follows the GraphQL-over-HTTP specification: media types, methods and status codes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.graphql_http import GRAPHQL_RESPONSE, GraphQLEndpoint, response_media_type

GOOD = "{ agents(first: 2) { nodes { agentId } } }"
JSON_ONLY = {"accept": "application/json"}
NEW = {"accept": GRAPHQL_RESPONSE}


def _media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
async def test_post_query_answers_200_in_the_accepted_media_type(
    client: httpx.AsyncClient, accept: str
) -> None:
    response = await client.post("/graphql", json={"query": GOOD}, headers={"accept": accept})
    assert response.status_code == 200
    assert _media(response) == accept
    assert len(response.json()["data"]["agents"]["nodes"]) == 2


async def test_no_accept_header_means_application_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": GOOD}),
        headers={"content-type": "application/json; charset=utf-8", "accept": ""},
    )
    assert response.status_code == 200
    assert _media(response) == "application/json"


def test_accept_negotiation_follows_quality_then_order() -> None:
    assert response_media_type(None) == "application/json"
    assert response_media_type("*/*") == "application/json"
    assert response_media_type(f"application/json;q=0.5, {GRAPHQL_RESPONSE}") == GRAPHQL_RESPONSE
    assert response_media_type(f"{GRAPHQL_RESPONSE};q=0.1, application/json") == "application/json"
    assert response_media_type(f"text/html, {GRAPHQL_RESPONSE};q=0.9") == GRAPHQL_RESPONSE


async def test_unacceptable_accept_is_406(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": GOOD}, headers={"accept": "application/xml"}
    )
    assert response.status_code == 406
    assert "application/xml" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("name", "document", "variables"),
    [
        ("parse", "{ agents(first: 2) { nodes { agentId }", None),
        ("validation", "{ agents { nodes { noSuchField } } }", None),
        ("variables", "query($n: Int!) { agents(first: $n) { totalCount } }", {"n": "two"}),
        ("unknown operation", "query A { agents { totalCount } }", None),
    ],
)
async def test_request_errors_are_400_in_graphql_response_json_and_200_in_json(
    client: httpx.AsyncClient, name: str, document: str, variables: dict[str, str] | None
) -> None:
    body = {"query": document, "variables": variables}
    if name == "unknown operation":
        body["operationName"] = "B"
    new = await client.post("/graphql", json=body, headers=NEW)
    assert new.status_code == 400, new.text
    assert _media(new) == GRAPHQL_RESPONSE
    assert "data" not in new.json() and new.json()["errors"]
    legacy = await client.post("/graphql", json=body, headers=JSON_ONLY)
    assert legacy.status_code == 200
    assert "data" not in legacy.json() and legacy.json()["errors"]


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
async def test_field_errors_are_200_with_data(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ agents(first: 100000) { totalCount } }"},
        headers={"accept": accept},
    )
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert "first" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b"{}", "Missing `query`"),
        (b'{"query": 42}', "`query` must be a string"),
        (b'{"query": "{ __typename }", "variables": "x"}', "`variables`"),
        (b'{"query": "{ __typename }", "operationName": 1}', "`operationName`"),
        (b'{"query": "{ __typename }", "extensions": []}', "`extensions`"),
    ],
)
async def test_malformed_requests_are_400_naming_the_problem(
    client: httpx.AsyncClient, content: bytes, needle: str
) -> None:
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql",
            content=content,
            headers={"content-type": "application/json", "accept": accept},
        )
        assert response.status_code == 400, response.text
        assert needle in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/graphql", "", "application/json; charset=latin-1"]
)
async def test_unsupported_media_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/graphql", content=json.dumps({"query": GOOD}), headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_with_allow(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/graphql", json={"query": GOOD})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert method in response.json()["errors"][0]["message"]


async def test_get_runs_a_query_with_variables(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($n: Int!) { agents(first: $n) { nodes { agentId } } }",
            "variables": json.dumps({"n": 3}),
            "operationName": "Q",
        },
        headers=NEW,
    )
    assert response.status_code == 200
    assert len(response.json()["data"]["agents"]["nodes"]) == 3


async def test_get_with_malformed_variables_or_no_query_is_400(client: httpx.AsyncClient) -> None:
    bad = await client.get("/graphql", params={"query": GOOD, "variables": "{nope"})
    assert bad.status_code == 400
    assert "`variables`" in bad.json()["errors"][0]["message"]
    missing = await client.get("/graphql", headers=JSON_ONLY)
    assert missing.status_code == 400
    assert "Missing `query`" in missing.json()["errors"][0]["message"]


@strawberry.type
class _Query:
    @strawberry.field(description="A constant.")
    def ping(self) -> str:
        return "pong"


@strawberry.type
class _Mutation:
    @strawberry.mutation(description="Echo.")
    def echo(self, text: str) -> str:
        return text


@pytest.fixture
async def mutating() -> AsyncIterator[httpx.AsyncClient]:
    """The endpoint over a schema that has a mutation (the gateway's may not, yet)."""

    async def context(_: object) -> None:
        return None

    endpoint = GraphQLEndpoint(strawberry.Schema(query=_Query, mutation=_Mutation), context)
    app = Starlette(routes=[Route("/graphql", endpoint)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_mutation_over_get_is_405_and_over_post_runs(mutating: httpx.AsyncClient) -> None:
    document = 'mutation { echo(text: "hi") }'
    refused = await mutating.get("/graphql", params={"query": document}, headers=NEW)
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert "POST" in refused.json()["errors"][0]["message"]
    done = await mutating.post("/graphql", json={"query": document}, headers=NEW)
    assert done.status_code == 200
    assert done.json() == {"data": {"echo": "hi"}}
    query = await mutating.get("/graphql", params={"query": "{ ping }"})
    assert query.json() == {"data": {"ping": "pong"}}
