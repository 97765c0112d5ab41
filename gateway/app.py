"""The Starlette application: `/graphql` (with GraphiQL), `POST /events` and `/healthz`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from gateway.events_endpoint import events_endpoint
from gateway.settings import Settings
from resolvers.context import Context, Options
from schema import build_schema
from warehouse.engine import create_engine, create_tables
from warehouse.ingest import Ingestor


class GatewayGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with a fresh `Context` (and so fresh loaders) per request."""

    def __init__(self, engine: AsyncEngine, options: Options, graphiql: bool) -> None:
        super().__init__(build_schema(), graphql_ide="graphiql" if graphiql else None)
        self.engine = engine
        self.options = options

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(engine=self.engine, options=self.options)


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    """Build the app; the engine is created from the settings unless one is given (tests)."""
    settings = settings or Settings()
    engine = engine or create_engine(settings.database_url)
    graphql = GatewayGraphQL(engine, settings.options(), settings.graphiql)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await create_tables(engine)
        yield
        await engine.dispose()

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", graphql),
            Route(
                "/events",
                events_endpoint(Ingestor(engine, ZoneInfo(settings.timezone))),
                methods=["POST"],
            ),
        ],
        lifespan=lifespan,
    )
