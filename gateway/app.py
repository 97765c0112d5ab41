"""The Starlette application: `/graphql` (with GraphiQL and its assets), `/healthz`, `/readyz`,
`/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway import assets
from gateway.explorer import ASSETS_URL, ExplorerPage
from gateway.graphql_http import GraphQLEndpoint
from gateway.observability import ObservabilityMiddleware, instrument_engine, record_graphql_errors
from gateway.operations import operation_routes
from gateway.settings import Settings
from resolvers.context import Context, Options
from schema import build_schema
from warehouse.engine import create_engine


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    """Build the app; the engine is created from the settings unless one is given (tests)."""
    settings = settings or Settings()
    engine = engine or create_engine(settings.database_url)
    options: Options = settings.options()
    schema = build_schema()
    explorer = ExplorerPage(schema._schema, options.timezone) if settings.graphiql else None

    async def get_context(_request: Any) -> Context:
        # a fresh context per request, so loader caches never leak across requests
        return Context(engine=engine, options=options)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    instrument_engine(engine)
    endpoint = GraphQLEndpoint(
        schema,
        get_context,
        ide_page=explorer.render if explorer is not None else None,
        on_result=lambda _request, result, request_error: record_graphql_errors(
            result.errors, request_error
        ),
    )
    return Starlette(
        routes=[
            *operation_routes(engine),
            Route("/graphql", endpoint),
            Mount(f"/{ASSETS_URL}", StaticFiles(directory=assets.ASSETS_DIR, check_dir=False)),
        ],
        middleware=[Middleware(ObservabilityMiddleware)],
        lifespan=lifespan,
    )
