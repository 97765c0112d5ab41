"""The Starlette application: `/graphql` (with GraphiQL), `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from strawberry.asgi import GraphQL

from gateway.graphql_http import GraphQLEndpoint
from gateway.observability import ObservabilityMiddleware, instrument_engine, record_graphql_errors
from gateway.operations import operation_routes
from gateway.settings import Settings
from resolvers.context import Context, Options
from schema import build_schema
from warehouse.engine import create_engine


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
    engine = engine or create_engine(settings.database_url, **settings.engine_options())
    graphql = GatewayGraphQL(engine, settings.options(), settings.graphiql)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    instrument_engine(engine)
    endpoint = GraphQLEndpoint(
        graphql.schema,
        lambda request: graphql.get_context(request, None),
        graphiql=settings.graphiql,
        on_result=lambda _request, result, request_error: record_graphql_errors(
            result.errors, request_error
        ),
    )
    return Starlette(
        routes=[*operation_routes(engine), Route("/graphql", endpoint)],
        middleware=[Middleware(ObservabilityMiddleware)],
        lifespan=lifespan,
    )
