"""What an operator watches: Prometheus metrics, JSON logs with a request id, SQL statement counts.

Every request gets an id (the client's `X-Request-ID` when it is a sane token, else a new one),
returned in the `X-Request-ID` response header and attached to every log line written while the
request runs. The SQL statements a request runs are counted through a context variable that an
engine event increments, so the count needs no help from resolvers.

With several worker processes (`serve --workers N`), metrics go through prometheus_client's
multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, which `serve` sets up), so `/metrics` on any worker
reports the sum over all of them.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warehouse.engine import sync_engines

log = logging.getLogger("insights_gateway.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_statements_var: ContextVar[list[int] | None] = ContextVar("sql_statements", default=None)

REQUESTS = Counter(
    "insights_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "insights_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter(
    "insights_graphql_errors_total",
    "GraphQL errors returned: request (parse/validation/variables), field, or internal.",
    ["kind"],
)
SQL_STATEMENTS = Histogram(
    "insights_sql_statements_per_request",
    "SQL statements one HTTP request ran.",
    ["route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100),
)
# Ingest counters: `POST /events` counts each batch it handles and its events by outcome.
INGEST_EVENTS = Counter(
    "insights_ingest_events_total",
    "TaskRouter events received over POST /events, by outcome (applied, ignored, rejected).",
    ["outcome"],
)
INGEST_BATCHES = Counter("insights_ingest_batches_total", "Event batches POST /events handled.")


def record_ingest(*, applied: int = 0, ignored: int = 0, rejected: int = 0) -> None:
    """Count one ingested batch and its events by outcome (the ingest's own vocabulary)."""
    INGEST_BATCHES.inc()
    for outcome, count in (("applied", applied), ("ignored", ignored), ("rejected", rejected)):
        if count:
            INGEST_EVENTS.labels(outcome).inc(count)


def record_graphql_errors(errors: list[Any] | None, request_error: bool) -> None:
    """Count a GraphQL result's errors by kind."""
    for error in errors or ():
        if request_error:
            kind = "request"
        elif error.message == "Internal error.":
            kind = "internal"
        else:
            kind = "field"
        ERRORS.labels(kind).inc()


def instrument_engine(engine: AsyncEngine) -> None:
    """Count each statement the engine runs against the current request (idempotent)."""
    for target in sync_engines(engine):
        if not event.contains(target, "before_cursor_execute", _count_statement):
            event.listen(target, "before_cursor_execute", _count_statement)


@contextmanager
def counting_statements() -> Iterator[list[int]]:
    """Count the statements run inside the block (and the tasks it starts) into `box[0]`."""
    box = [0]
    token = _statements_var.set(box)
    try:
        yield box
    finally:
        _statements_var.reset(token)


def _count_statement(*_: Any) -> None:
    box = _statements_var.get()
    if box is not None:
        box[0] += 1


def _route(path: str) -> str:
    return path if path in ROUTES else "other"


class ObservabilityMiddleware:
    """Request id, latency, status and SQL statement count of every HTTP request; one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        id_token = request_id_var.set(request_id)
        box = [0]
        box_token = _statements_var.set(box)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope["path"])
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(elapsed)
            SQL_STATEMENTS.labels(route).observe(box[0])
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "sql_statements": box[0],
                },
            )
            _statements_var.reset(box_token)
            request_id_var.reset(id_token)


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: every worker's values in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)
