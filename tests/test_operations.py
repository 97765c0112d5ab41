"""Operations: health and readiness, Prometheus metrics, request ids, JSON logs, several workers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import text

from gateway.app import create_app
from gateway.logs import FORMAT, RequestIdFilter
from gateway.observability import request_id_var
from gateway.settings import Settings
from tests.databases import fresh_database
from tests.served import served
from warehouse.engine import create_engine

ROOT = Path(__file__).resolve().parent.parent
# two statements: the agents page with their teams joined, then the teams' departments
QUERY = {"query": "{ agents(first: 2) { nodes { agentId team { name department { name } } } } }"}


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    app = create_app(Settings(auth="off"), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    await engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "unreachable" in response.json()["reason"]


async def test_readyz_is_503_when_the_schema_is_not_migrated(tmp_path: Path) -> None:
    engine = create_engine(await fresh_database(tmp_path, "empty"))
    app = create_app(Settings(auth="off"), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    await engine.dispose()
    assert response.status_code == 503
    assert "schema at revision None" in response.json()["reason"]


async def test_metrics_count_requests_latency_errors_and_sql_statements(
    client: httpx.AsyncClient,
) -> None:
    ok = {"method": "POST", "route": "/graphql", "status": "200"}
    before = {
        "requests": _sample("insights_http_requests_total", **ok),
        "latency": _sample("insights_http_request_duration_seconds_count", route="/graphql"),
        "sql": _sample("insights_sql_statements_per_request_sum", route="/graphql"),
        "sql_n": _sample("insights_sql_statements_per_request_count", route="/graphql"),
        "errors": _sample("insights_graphql_errors_total", kind="request"),
    }
    assert (await client.post("/graphql", json=QUERY)).status_code == 200
    await client.post("/graphql", json={"query": "{ nope }"})
    assert _sample("insights_http_requests_total", **ok) == before["requests"] + 2
    assert (
        _sample("insights_http_request_duration_seconds_count", route="/graphql")
        == before["latency"] + 2
    )
    # the agents page answered as JSON (teams and their departments joined in); the invalid
    # query runs none
    assert _sample("insights_sql_statements_per_request_sum", route="/graphql") == before["sql"] + 1
    assert _sample("insights_sql_statements_per_request_count", route="/graphql") == (
        before["sql_n"] + 2
    )
    assert _sample("insights_graphql_errors_total", kind="request") == before["errors"] + 1

    exposed = await client.get("/metrics")
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain")
    for name in (
        "insights_http_requests_total",
        "insights_http_request_duration_seconds_bucket",
        "insights_sql_statements_per_request_bucket",
        "insights_graphql_errors_total",
        "insights_ingest_events_total",
    ):
        assert name in exposed.text


async def test_request_id_is_returned_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="insights_gateway.access"):
        given = await client.post("/graphql", json=QUERY, headers={"x-request-id": "trace-42"})
        made = await client.post("/graphql", json=QUERY, headers={"x-request-id": "bad id\n!"})
    assert given.headers["x-request-id"] == "trace-42"
    new_id = made.headers["x-request-id"]
    assert new_id != "bad id\n!" and len(new_id) == 32
    lines = [r for r in caplog.records if r.name == "insights_gateway.access"]
    assert [r.__dict__["path"] for r in lines[-2:]] == ["/graphql", "/graphql"]
    assert lines[-2].__dict__["sql_statements"] == 1  # one page, its links joined into its JSON
    assert lines[-2].__dict__["status"] == 200


def test_log_lines_are_json_with_the_request_id() -> None:
    formatter = JsonFormatter(FORMAT, rename_fields={"levelname": "level"}, timestamp="time")
    record = logging.LogRecord(
        "insights_gateway.access", logging.INFO, __file__, 1, "request", None, None
    )
    token = request_id_var.set("abc")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "abc"
    assert line["level"] == "INFO" and line["message"] == "request" and "time" in line


async def test_serve_migrates_and_runs_several_workers(tmp_path: Path) -> None:
    url = await fresh_database(tmp_path, "served")
    log = tmp_path / "server.log"
    with served(url, log, workers=2) as base:
        async with httpx.AsyncClient(base_url=base) as c:
            for _ in range(6):
                answer = await c.post("/graphql", json={"query": "{ agents { totalCount } }"})
                assert answer.json() == {"data": {"agents": {"totalCount": 0}}}
            metrics = (await c.get("/metrics")).text
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith('insights_http_requests_total{method="POST",route="/graphql"')
    ]
    assert counted and float(counted[0].split()[-1]) == 6.0  # summed over both workers
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    started = [r for r in records if str(r.get("message", "")).startswith("Started server process")]
    assert len(started) == 2
    requests = [r for r in records if r.get("logger") == "insights_gateway.access"]
    assert requests and all(len(r["request_id"]) == 32 for r in requests)


async def test_server_engines_get_the_pool_and_statement_timeout_settings(tmp_path: Path) -> None:
    settings = Settings(
        database_url=await fresh_database(tmp_path, "tuned"),
        db_pool_size=3,
        db_max_overflow=2,
        db_statement_timeout_ms=1234,
    )
    engine = create_engine(settings.database_url, **settings.engine_options())
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                shown = (await conn.execute(text("SHOW statement_timeout"))).scalar_one()
                assert shown == "1234ms"
                assert engine.pool.size() == 3  # type: ignore[attr-defined]
            else:  # SQLite: one file, no server pool or timeout; the options must not break it
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_sqlite_files_are_read_in_one_thread_hop_memory_databases_are_not(
    tmp_path: Path,
) -> None:
    from sqlalchemy import text

    from resolvers.cancel import read_in_thread
    from warehouse.engine import create_engine, dispose, sync_engines, thread_reader

    file_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    memory_engine = create_engine("sqlite+aiosqlite://")
    postgres_engine = create_engine("postgresql+asyncpg://u:p@localhost/none")
    reader = thread_reader(file_engine)
    assert reader is not None and str(reader.url).endswith("w.db")
    assert thread_reader(memory_engine) is None and thread_reader(postgres_engine) is None
    assert sync_engines(file_engine) == [file_engine.sync_engine, reader]
    # the reader's connections get the same pragmas (WAL) as the async engine's
    mode = await read_in_thread(reader, lambda c: c.execute(text("PRAGMA journal_mode")).scalar())
    assert mode == "wal"
    for engine in (file_engine, memory_engine, postgres_engine):
        await dispose(engine)
