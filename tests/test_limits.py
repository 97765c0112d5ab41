"""Hostile queries: every limit passes just under and fails just over, before anything runs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql.language import Lexer, Source, TokenKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.fields as fields
from resolvers.context import Context
from resolvers.pages import run
from resolvers.viewer import Viewer
from tests.helpers import app_client, rows

# a recursive count that keeps SQLite busy for far longer than any test waits
SLOW = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) "
    "SELECT COUNT(*) FROM c"
)


async def assert_statement_stopped(engine: AsyncEngine, log_text: str) -> None:
    """The slow statement no longer runs: SQLite was interrupted, PostgreSQL cancelled it."""
    if engine.dialect.name == "sqlite":
        assert "interrupted the SQLite statement" in log_text
        return
    await asyncio.sleep(0.2)
    running = await rows(
        engine,
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'WITH RECURSIVE c(x)%'",
    )
    assert running[0]["n"] == 0


def client(engine: AsyncEngine, **settings: Any) -> httpx.AsyncClient:
    """A local client with authentication off (loopback), so only the limit under test bites."""
    return app_client(engine, **{"auth": "off", **settings})


async def graphql(
    engine: AsyncEngine, query: str, variables: dict[str, Any] | None = None, **settings: Any
) -> dict[str, Any]:
    async with client(engine, **settings) as c:
        response = await c.post("/graphql", json={"query": query, "variables": variables})
    return response.json()  # type: ignore[no-any-return]


def ok(body: dict[str, Any]) -> bool:
    return not body.get("errors") and body.get("data") is not None


def rejected(body: dict[str, Any], needle: str) -> bool:
    """Refused before execution: no data at all, and an error that says why."""
    return body.get("data") is None and any(needle in e["message"] for e in body["errors"])


# depth counts the levels of fields below the root field: agents(0) > nodes(1) > team(2) > name(3)
DEEP = "{ agents(first: 1) { nodes { team { name } } } }"


async def test_depth(small_engine: AsyncEngine) -> None:
    assert ok(await graphql(small_engine, DEEP, max_depth=3))
    assert rejected(
        await graphql(small_engine, DEEP, max_depth=2), "exceeds maximum operation depth of 2"
    )


async def test_aliases(small_engine: AsyncEngine) -> None:
    query = "{ a: agents(first: 1) { totalCount } b: teams(first: 1) { totalCount } c: queues(first: 1) { totalCount } }"
    assert ok(await graphql(small_engine, query, max_aliases=3))
    assert rejected(await graphql(small_engine, query, max_aliases=2), "aliases found. Allowed: 2")


async def test_tokens(small_engine: AsyncEngine) -> None:
    query = "{ agents(first: 2) { totalCount nodes { agentId fullName } } }"
    lexer = Lexer(Source(query))
    tokens = 0
    while lexer.advance().kind is not TokenKind.EOF:
        tokens += 1
    assert ok(await graphql(small_engine, query, max_tokens=tokens))
    body = await graphql(small_engine, query, max_tokens=tokens - 1)
    assert rejected(body, f"Document contains more than {tokens - 1} tokens")


async def test_body_size(small_engine: AsyncEngine) -> None:
    def body(size: int) -> bytes:
        base = json.dumps({"query": "{ teams(first: 1) { totalCount } }"})
        padded = base[:-2] + " " * (size - len(base)) + base[-2:]  # whitespace inside the query
        assert len(padded) == size
        return padded.encode()

    async with client(small_engine, max_body_bytes=2_000) as c:
        headers = {"content-type": "application/json"}
        fits = await c.post("/graphql", content=body(2_000), headers=headers)
        assert fits.status_code == 200 and ok(fits.json())
        too_big = await c.post("/graphql", content=body(2_001), headers=headers)
        assert too_big.status_code == 413
        assert "2000 bytes" in too_big.json()["errors"][0]["message"]

        async def chunks() -> Any:  # no Content-Length: counted while reading
            for _ in range(3):
                yield b" " * 1_000

        streamed = await c.post("/graphql", content=chunks(), headers=headers)
        assert streamed.status_code == 413


async def test_event_batches_have_a_body_limit_of_their_own(small_engine: AsyncEngine) -> None:
    """`POST /events` takes batches far larger than any GraphQL document, up to its own limit."""
    batch = json.dumps([{"EventType": "task.unknown-kind", "Sid": "EV" + "0" * 32}] * 200)
    headers = {"content-type": "application/json"}
    async with client(small_engine, max_body_bytes=2_000, max_events_body_bytes=len(batch)) as c:
        accepted = await c.post("/events", content=batch.encode(), headers=headers)
        assert accepted.status_code != 413
        too_big = await c.post("/events", content=(batch + " ").encode(), headers=headers)
        assert too_big.status_code == 413
        assert f"{len(batch)} bytes" in too_big.json()["errors"][0]["message"]


async def test_page_size_cap(small_engine: AsyncEngine) -> None:
    query = "query($n: Int) { agents(first: $n) { totalCount } }"
    assert ok(await graphql(small_engine, query, {"n": 100}))
    body = await graphql(small_engine, query, {"n": 101})
    assert body["data"] == {"agents": None}  # the failing field alone is null
    assert any("above the maximum page size of 100" in e["message"] for e in body["errors"])


COSTLY = "query($a: Int, $b: Int) { agents(first: $a) { nodes { segments(first: $b) { nodes { segmentId } } } } }"


async def test_cost_is_the_product_of_page_sizes_along_a_path(small_engine: AsyncEngine) -> None:
    assert ok(await graphql(small_engine, COSTLY, {"a": 50, "b": 50}, max_cost=2_500))
    body = await graphql(small_engine, COSTLY, {"a": 50, "b": 51}, max_cost=2_500)
    assert rejected(body, "Query cost 2550 is above the maximum of 2500")
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_cost_counts_default_pages_fragments_and_nodes_ids(small_engine: AsyncEngine) -> None:
    # no `first`: the default page size (50) counts, also through a fragment
    query = "{ agents { nodes { ...A } } } fragment A on Agent { segments { nodes { segmentId } } }"
    assert ok(await graphql(small_engine, query, max_cost=2_500))
    assert rejected(await graphql(small_engine, query, max_cost=2_499), "Query cost 2500")
    ids = json.dumps(["QWdlbnQ6eA=="] * 3)
    nodes = (
        "{ nodes(ids: %s) { ... on Agent { segments(first: 10) { nodes { segmentId } } } } }" % ids
    )
    assert rejected(await graphql(small_engine, nodes, max_cost=29), "Query cost 30")


async def test_timeout_cancels_the_request_and_its_sql(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def slow_count(ctx: Context, *_: Any) -> int:
        return int((await run(ctx, SLOW))[0][0])

    monkeypatch.setattr(fields, "count_rows", slow_count)
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    body = await graphql(small_engine, "{ agents { totalCount } }", query_timeout_seconds=0.3)
    assert time.monotonic() - started < 5
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "longer than 0.3 s" in error["message"]
    await assert_statement_stopped(small_engine, caplog.text)


async def test_cancelled_statement_stops_running(
    small_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ctx = Context(engine=small_engine, viewer=Viewer.system())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(run(ctx, SLOW), 0.2)
    await assert_statement_stopped(small_engine, caplog.text)
    cpu = time.process_time()
    await asyncio.sleep(0.5)
    # a statement still running in aiosqlite's thread would burn this process's CPU meanwhile
    assert time.process_time() - cpu < 0.25
    assert await rows(small_engine, "SELECT 1 AS one") == [{"one": 1}]


# --- CSRF: writes only over POST with a JSON body ------------------------------------------------

MUTATION = 'mutation { deleteAssessment(assessmentId: "nothing") { deletedAssessmentId } }'


async def test_mutation_over_get_is_refused(small_engine: AsyncEngine) -> None:
    async with client(small_engine) as c:
        response = await c.get("/graphql", params={"query": MUTATION})
    assert response.status_code in (400, 405)
    assert "deletedAssessmentId" not in response.text


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", "query=" + MUTATION),
        ("text/plain", json.dumps({"query": MUTATION})),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n'
            + MUTATION
            + "\r\n--x--\r\n",
        ),
    ],
)
async def test_simple_form_posts_are_refused(
    small_engine: AsyncEngine, content_type: str, content: str
) -> None:
    async with client(small_engine) as c:
        response = await c.post("/graphql", content=content, headers={"content-type": content_type})
    assert response.status_code in (400, 415)
    assert "deletedAssessmentId" not in response.text


async def test_json_post_mutation_runs(small_engine: AsyncEngine) -> None:
    body = await graphql(small_engine, MUTATION)
    assert body["data"] == {"deleteAssessment": {"deletedAssessmentId": None}}


# --- masking, introspection, GraphiQL, allow-list ------------------------------------------------


async def test_unexpected_errors_are_masked_with_a_request_id(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(fields, "fetch_page", broken)
    async with client(small_engine) as c:
        response = await c.post("/graphql", json={"query": "{ agents { nodes { agentId } } }"})
    (error,) = response.json()["errors"]
    assert error["message"] == "Internal error."
    assert "hunter2" not in response.text
    request_id = error["extensions"]["requestId"]
    assert request_id == response.headers["x-request-id"]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and "hunter2" in str(logged[0].exc_info[1])  # type: ignore[index]


async def test_introspection_and_graphiql_can_be_switched_off(small_engine: AsyncEngine) -> None:
    query = "{ __schema { queryType { name } } }"
    assert ok(await graphql(small_engine, query))
    assert rejected(await graphql(small_engine, query, introspection=False), "introspection")
    async with client(small_engine, graphiql=False) as c:
        page = await c.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()


async def test_allow_list_accepts_only_registered_operations(
    small_engine: AsyncEngine, tmp_path: Path
) -> None:
    registered = "query Teams { teams(first: 2) { totalCount } }"
    (tmp_path / "teams.graphql").write_text(registered)
    digest = hashlib.sha256(registered.encode()).hexdigest()
    async with client(small_engine, allowed_operations=str(tmp_path)) as c:
        by_text = await c.post("/graphql", json={"query": registered})
        assert ok(by_text.json())
        by_hash = await c.post(
            "/graphql",
            json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
        )
        assert by_hash.json() == by_text.json()
        other = await c.post("/graphql", json={"query": "{ agents { totalCount } }"})
        assert other.status_code == 400 and "allow-list" in other.text
        unknown = await c.post(
            "/graphql", json={"extensions": {"persistedQuery": {"sha256Hash": "0" * 64}}}
        )
        assert unknown.status_code == 400
        mismatch = await c.post(
            "/graphql",
            json={
                "query": "{ agents { totalCount } }",
                "extensions": {"persistedQuery": {"sha256Hash": digest}},
            },
        )
        assert mismatch.status_code == 400


async def test_timeout_also_stops_statements_started_by_loaders(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import resolvers.pages as pages

    async def slow_counts(ctx: Context, requests: list[Any]) -> list[int]:
        await run(ctx, SLOW)  # in the loader's own task, not the request's
        return [0] * len(requests)

    monkeypatch.setattr(pages, "_load_child_counts", slow_counts)
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    # the directive keeps the teams' rows objects: their agents' counts load through the loader
    document = "{ teams { nodes { name @include(if: true) agents { totalCount } } } }"
    body = await graphql(small_engine, document, query_timeout_seconds=0.3)
    assert time.monotonic() - started < 5
    assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
    await assert_statement_stopped(small_engine, caplog.text)
    cpu = time.process_time()
    await asyncio.sleep(0.5)
    assert time.process_time() - cpu < 0.25
