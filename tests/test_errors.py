"""Bad input is a GraphQL error naming the problem; never a 500, never a stack trace."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import Gateway

BAD = [
    ("unknown enum value", "{ segments(filter: {kind: {eq: PHONE}}) { totalCount } }", "PHONE"),
    (
        "filter type mismatch",
        '{ segments(filter: {queueTime: {eq: "long"}}) { totalCount } }',
        "Int",
    ),
    ("unknown filter field", "{ segments(filter: {colour: {eq: 1}}) { totalCount } }", "colour"),
    ("first above cap", "{ segments(first: 101) { totalCount } }", "maximum page size of 100"),
    ("negative first", "{ segments(first: -1) { totalCount } }", "must not be negative"),
    ("first and last", "{ segments(first: 5, last: 5) { totalCount } }", "not both"),
    ("malformed cursor", '{ segments(after: "not-a-cursor") { totalCount } }', "Malformed cursor"),
    ("malformed global id", '{ node(id: "%%%") { id } }', "Malformed global id"),
    (
        "global id of unknown type",
        '{ node(id: "%s") { id } }' % base64.b64encode(b"Spaceship:1").decode(),
        "unknown type 'Spaceship'",
    ),
    (
        "nested page above cap",
        "{ agents { nodes { segments(first: 500) { totalCount } } } }",
        "500",
    ),
    ("unknown field", "{ segments { nodes { colour } } }", "colour"),
    ("syntax error", "{ segments { ", "Syntax Error"),
]


@pytest.mark.parametrize(("name", "query", "needle"), BAD, ids=[b[0] for b in BAD])
async def test_bad_input_is_a_clear_error(gw: Gateway, name: str, query: str, needle: str) -> None:
    messages = await gw.errors(query)
    assert any(needle in m for m in messages), messages


async def test_cursor_of_another_ordering_is_rejected(gw: Gateway) -> None:
    data = await gw.query("{ segments(first: 1) { pageInfo { endCursor } } }")
    cursor = data["segments"]["pageInfo"]["endCursor"]
    messages = await gw.errors(
        "query($c: String) { segments(after: $c, orderBy: [{field: QUEUE_TIME}]) { totalCount } }".replace(
            "$c: String", "$c: String!"
        ),
        {"c": cursor},
    )
    assert any("another ordering" in m for m in messages)


async def test_missing_node_is_null_without_error(gw: Gateway) -> None:
    result = await gw.execute(
        '{ node(id: "%s") { id } }' % base64.b64encode(b"Agent:nobody").decode()
    )
    assert result.errors is None
    assert result.data == {"node": None}


@pytest.mark.parametrize(("name", "query", "needle"), BAD, ids=[b[0] for b in BAD])
async def test_http_never_answers_500_nor_leaks_a_trace(
    client: httpx.AsyncClient, name: str, query: str, needle: str
) -> None:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code in (200, 400)
    body = response.json()
    assert body["errors"]
    text = response.text
    assert "Traceback" not in text and 'File "' not in text


async def test_internal_failures_are_masked(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resolvers.pages as pages

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret detail: /var/lib/db password=hunter2")

    monkeypatch.setattr(pages, "run", broken)
    app = create_app(Settings(auth="off"), engine=small_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post("/graphql", json={"query": "{ agents { nodes { agentId } } }"})
    assert response.status_code == 200
    assert "hunter2" not in response.text
    assert response.json()["errors"][0]["message"] == "Internal error."


async def test_graphiql_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}
