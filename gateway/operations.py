"""Operational endpoints: `/healthz` (the process is alive), `/readyz` (it can serve), `/metrics`.

`/readyz` answers 503 while the database cannot be reached within a second or its schema is not
at the migration this code needs, so a load balancer only routes to workers that can answer.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.observability import metrics_endpoint
from warehouse import migrate

log = logging.getLogger("insights_gateway.readyz")
READY_TIMEOUT = 1.0


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def readiness(engine: AsyncEngine) -> Route:
    """The `/readyz` route for `engine`."""

    async def check() -> str | None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            try:
                found = await conn.execute(text("SELECT version_num FROM alembic_version"))
                revision = found.scalar()
            except DBAPIError:
                revision = None  # never migrated
        if revision != migrate.head():
            return f"schema at revision {revision}, this gateway needs {migrate.head()}"
        return None

    async def readyz(_: Request) -> JSONResponse:
        try:
            problem = await asyncio.wait_for(check(), READY_TIMEOUT)
        except Exception as error:  # any failure to reach the database means "not ready"
            log.warning("database unreachable: %s", type(error).__name__)
            problem = f"database unreachable ({type(error).__name__})"
        if problem:
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    return Route("/readyz", readyz)


def operation_routes(engine: AsyncEngine) -> list[Route]:
    return [Route("/healthz", healthz), readiness(engine), Route("/metrics", metrics_endpoint)]
