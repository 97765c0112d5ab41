"""JSON errors everywhere: a server fault, a database outage during authentication and a client's
mistake all answer JSON with a code; never plain text, never `Internal error.` for bad input."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.graphql_http import GraphQLEndpoint
from tests.helpers import app_client
from warehouse.engine import create_engine


@pytest.fixture(scope="module")
async def local(small_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """One app for the module's generated examples (building the schema is not free)."""
    async with app_client(small_engine, auth="off") as c:
        yield c


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in body.get("errors") or []]


async def test_an_escaped_exception_is_a_json_500_with_a_request_id(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(GraphQLEndpoint, "handle", broken)
    async with app_client(small_engine, auth="off") as c:
        response = await c.post("/graphql", json={"query": "{ teams { totalCount } }"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "hunter2" not in response.text
    request_id = error["extensions"]["requestId"]
    assert request_id == response.headers["x-request-id"]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info and "hunter2" in str(logged[0].exc_info[1])


def _unreachable_urls(tmp: Path) -> list[str]:
    return [
        f"sqlite+aiosqlite:///{tmp / 'no-such-directory' / 'gone.db'}",  # cannot be opened
        "postgresql+asyncpg://nobody@127.0.0.1:9/none",  # nothing listens: connection refused
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["sqlite-unopenable", "postgresql-refused"])
async def test_a_database_outage_during_authentication_is_503_json(
    tmp_path: Path, which: int
) -> None:
    engine = create_engine(_unreachable_urls(tmp_path)[which])
    try:
        async with app_client(engine, auth="on", address="10.1.2.3") as c:
            response = await c.post(
                "/graphql",
                json={"query": "{ teams { totalCount } }"},
                headers={"authorization": "Bearer igk_abcdef123456_secret"},
            )
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "retry-after" in response.headers


async def test_an_empty_create_assessments_list_is_a_named_problem(
    local: httpx.AsyncClient,
) -> None:
    query = "mutation { createAssessments(inputs: []) { assessments { assessmentId } errors { field code message } } }"
    body = (await local.post("/graphql", json={"query": query})).json()
    assert "errors" not in body
    payload = body["data"]["createAssessments"]
    assert payload["assessments"] == []
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["inputs"], "REQUIRED")]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("tdvo"), inner),
    max_leaves=6,
)


def _tampered(real: str, values: Any) -> str:
    payload = json.loads(base64.urlsafe_b64decode(real))
    payload["v"] = values
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


ORDERS = ["", "orderBy: [{field: QUEUE_TIME}]", "orderBy: [{field: COMMUNICATION_CHANNEL}]"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(JSON_VALUES, min_size=2, max_size=3) | JSON_VALUES,
    order=st.sampled_from(ORDERS),
)
async def test_a_tampered_cursor_is_a_named_error(
    local: httpx.AsyncClient, values: Any, order: str
) -> None:
    """Whatever a client puts in a cursor, the answer is rows or `INVALID_CURSOR`."""
    page = "{ segments(first: 1 %s) { pageInfo { endCursor } } }" % order
    real = (await local.post("/graphql", json={"query": page})).json()
    cursor = _tampered(real["data"]["segments"]["pageInfo"]["endCursor"], values)
    query = "query($c: String!) { segments(first: 2, after: $c %s) { nodes { segmentId } } }"
    response = await local.post(
        "/graphql", json={"query": query % order, "variables": {"c": cursor}}
    )
    body = response.json()
    assert response.status_code == 200
    assert body.get("data") or codes(body) == ["INVALID_CURSOR"], body


async def test_a_filter_beyond_the_engine_is_a_named_error(local: httpx.AsyncClient) -> None:
    """However many terms a filter has, the answer is a count or a named refusal."""
    terms = [{"queueTime": {"eq": n}} for n in range(1_500)]
    query = "query($f: SegmentFilter) { segments(filter: $f) { totalCount } }"
    response = await local.post(
        "/graphql", json={"query": query, "variables": {"f": {"or": terms}}}
    )
    body = response.json()
    assert response.status_code == 200
    if body.get("errors"):
        assert codes(body)[0] in {"QUERY_TOO_COMPLEX", "INPUT_TOO_LARGE"}, body
    else:
        assert isinstance(body["data"]["segments"]["totalCount"], int)


@pytest.mark.parametrize("which", [0, 1], ids=["sqlite-unopenable", "postgresql-refused"])
async def test_a_database_outage_during_a_query_is_503_naming_the_database(
    tmp_path: Path, which: int, caplog: pytest.LogCaptureFixture
) -> None:
    """With authentication off (or a token that needs no lookup) the outage meets the resolvers:
    every field says the database is unavailable, and with nothing answered the status is 503."""
    engine = create_engine(_unreachable_urls(tmp_path)[which])
    query = "{ teams { totalCount } agents(first: 1) { nodes { agentId } } }"
    try:
        async with app_client(engine, auth="off") as c:
            response = await c.post("/graphql", json={"query": query})
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    assert body["data"] == {"teams": None, "agents": None}
    assert sorted(e["path"][0] for e in body["errors"]) == ["agents", "teams"]
    assert codes(body) == ["SERVICE_UNAVAILABLE"] * 2
    assert all("database is unavailable" in e["message"] for e in body["errors"])
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # an outage, not a fault


async def test_a_fault_that_is_not_an_outage_stays_an_internal_error(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a lost database is SERVICE_UNAVAILABLE: a broken statement stays a masked 200."""
    from sqlalchemy.exc import OperationalError

    import resolvers.pages

    async def broken(*_: object, **__: object) -> None:
        raise OperationalError("SELECT", {}, Exception("no such table: teams"))

    monkeypatch.setattr(resolvers.pages, "_read", broken)
    async with app_client(small_engine, auth="off") as c:
        response = await c.post("/graphql", json={"query": "{ teams { totalCount } }"})
    assert response.status_code == 200
    assert codes(response.json()) == ["INTERNAL_SERVER_ERROR"]
