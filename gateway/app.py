"""The Starlette application: `/graphql` (with GraphiQL and its assets) and `/healthz`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry.asgi import GraphQL

from gateway import assets
from gateway.explorer import ASSETS_URL, ExplorerPage
from gateway.settings import Settings
from resolvers.context import Context, Options
from schema import build_schema
from warehouse.engine import create_engine, create_tables


class GatewayGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with a fresh `Context` (and so fresh loaders) per request."""

    def __init__(self, engine: AsyncEngine, options: Options, graphiql: bool) -> None:
        schema = build_schema()
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.engine = engine
        self.options = options
        self.explorer = ExplorerPage(schema._schema, options.timezone) if graphiql else None

    async def render_graphql_ide(self, request: Any) -> Response:
        """Our GraphiQL page (local assets, example operations) instead of Strawberry's."""
        assert self.explorer is not None  # only called when graphql_ide is set
        return HTMLResponse(self.explorer.render())

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
            Mount(f"/{ASSETS_URL}", StaticFiles(directory=assets.ASSETS_DIR, check_dir=False)),
        ],
        lifespan=lifespan,
    )
