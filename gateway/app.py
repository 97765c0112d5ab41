"""The Starlette application: `/graphql` (with GraphiQL) and `/healthz`, behind the gate.

`GatewayMiddleware` (request id, body limit, authentication) wraps every route; the GraphQL view
adds the query timeout and the allow-list, and its schema the query limits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.types import ExecutionResult

from gateway.allowlist import AllowList
from gateway.auth import Authenticator
from gateway.limits import limit_extensions
from gateway.middleware import GatewayMiddleware
from gateway.settings import Settings
from resolvers.context import Context, Options
from resolvers.viewer import Viewer
from schema import build_schema
from warehouse.engine import create_engine, create_tables

log = logging.getLogger("insights_gateway")


class GatewayGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with a fresh `Context` (and so fresh loaders) per request."""

    def __init__(
        self,
        engine: AsyncEngine,
        options: Options,
        graphiql: bool,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or Settings()
        super().__init__(
            build_schema(limit_extensions(settings)),
            graphql_ide="graphiql" if graphiql else None,
        )
        self.engine = engine
        self.options = options
        self.timeout = settings.query_timeout_seconds
        self.allow_list = (
            AllowList.from_directory(settings.allowed_operations)
            if settings.allowed_operations
            else None
        )

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.state
        return Context(
            engine=self.engine,
            options=self.options,
            viewer=getattr(state, "viewer", None) or Viewer.system(),
            request_id=getattr(state, "request_id", ""),
        )

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)
        if self.allow_list is None:
            return data
        for item in data if isinstance(data, list) else [data]:
            try:
                item.query = self.allow_list.resolve(item.query, item.extensions)
            except ValueError as error:
                raise HTTPException(400, str(error)) from None
        return data

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Run one operation within the timeout; past it, its statements are cancelled too."""
        try:
            async with asyncio.timeout(self.timeout):
                return await super().execute_single(*args, **kwargs)
        except TimeoutError:
            context = kwargs.get("context")
            if isinstance(context, Context):
                await context.cancel_running()  # statements loaders started in other tasks
            request_id = getattr(context, "request_id", "")
            log.warning("request %s: cancelled after %ss", request_id, self.timeout)
            error: GraphQLError = StrawberryGraphQLError(
                f"Query took longer than {self.timeout:g} s and was cancelled.",
                extensions={"code": "TIMEOUT", "requestId": request_id},
            )
            return ExecutionResult(data=None, errors=[error])


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    """Build the app; the engine is created from the settings unless one is given (tests)."""
    settings = settings or Settings()
    engine = engine or create_engine(settings.database_url)
    graphql = GatewayGraphQL(engine, settings.options(), settings.graphiql, settings)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await create_tables(engine)
        yield
        await engine.dispose()

    gate = Middleware(
        GatewayMiddleware,
        authenticator=Authenticator(settings, engine),
        auth_enabled=settings.auth == "on",
        public_paths=settings.public_paths,
        admin_paths=settings.admin_paths,
        max_body_bytes=settings.max_body_bytes,
    )
    return Starlette(
        routes=[Route("/healthz", healthz), Route("/graphql", graphql)],
        middleware=[gate],
        lifespan=lifespan,
    )
