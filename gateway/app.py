"""The Starlette application: `/graphql` (with GraphiQL and its assets), `/healthz`, `/readyz`,
`/metrics` and `POST /events`, behind the gate.

`FaultGuard` is outermost: an exception nothing handled becomes a JSON 500 with the request id.
`ObservabilityMiddleware` (request id, JSON access log, Prometheus counters) comes next, so
refused requests are logged too; `GatewayMiddleware` (body limit, authentication) then wraps every
route; the GraphQL endpoint adds the query timeout and the allow-list, and its schema the limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway import assets, wallboard
from gateway.allowlist import AllowList
from gateway.auth import Authenticator, is_loopback
from gateway.events_endpoint import events_endpoint
from gateway.explorer import ASSETS_URL, ExplorerPage
from gateway.fault_guard import FaultGuard
from gateway.graphql_http import GraphQLEndpoint
from gateway.limits import limit_extensions
from gateway.middleware import GatewayMiddleware
from gateway.observability import (
    ObservabilityMiddleware,
    counting_statements,
    instrument_engine,
    record_graphql_errors,
)
from gateway.operations import operation_routes
from gateway.settings import Settings
from gateway.subscriptions import STATEMENTS, Hub
from gateway.subscriptions_sse import EventStreamRouter, EventStreams
from gateway.subscriptions_ws import Limits, SubscriptionServer, WebSocketRouter
from resolvers.context import Context, Options
from resolvers.live_pictures import LivePictures
from resolvers.viewer import Viewer
from schema import build_schema
from schema.whole_answers import WholeAnswers
from warehouse.changes import ChangeFeed
from warehouse.engine import create_engine, dispose
from warehouse.ingest import Ingestor
from warehouse.ingest_queue import IngestQueue


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    """Build the app; the engine is created from the settings unless one is given (tests)."""
    settings = settings or Settings()
    engine = engine or create_engine(settings.database_url, **settings.engine_options())
    options: Options = settings.options()
    schema = build_schema(limit_extensions(settings))
    explorer = (
        ExplorerPage(schema._schema, options.timezone, auth_required=settings.auth == "on")
        if settings.graphiql
        else None
    )
    allow_list = (
        AllowList.from_directory(settings.allowed_operations)
        if settings.allowed_operations
        else None
    )

    async def get_context(request: Request) -> Context:
        # a fresh context per request, so loader caches never leak across requests
        state = request.state
        return Context(
            engine=engine,
            options=options,
            # the middleware sets the viewer on every non-public path; a request without one
            # (an operator listing /graphql as public) sees no scoped row: fail closed
            viewer=getattr(state, "viewer", None) or Viewer.nobody(),
            request_id=getattr(state, "request_id", ""),
        )

    # subscriptions: the warehouse's commits drive them; one shared group per request and viewer
    changes = ChangeFeed(engine)
    authenticator = Authenticator(settings, engine)  # HTTP: verified API keys cached briefly
    # a subscription rechecks its credentials every few seconds: each check reads the database
    live_authenticator = Authenticator(settings, engine, cache=False)

    # one task per viewer computes the live pictures every `realtime` subscription reads
    live_pictures = LivePictures(counting=counting_statements, on_statements=STATEMENTS.inc)

    def live_context(viewer: Viewer) -> Context:
        return Context(
            engine=engine,
            options=options,
            viewer=viewer,
            changes=changes,
            live_pictures=live_pictures,
        )

    async def viewer_for(authorization: str | None, client: tuple[str, int] | None) -> Viewer:
        if settings.auth == "off" and authorization is None and client and is_loopback(client[0]):
            return Viewer.system()
        return await live_authenticator.viewer(authorization)

    hub = Hub(
        schema,
        live_context,
        max_subscriptions=settings.max_subscriptions,
        sharing_dir=settings.subscription_sharing_dir,
    )
    sockets = SubscriptionServer(
        schema,
        hub,
        viewer_for,
        live_context,
        Limits(
            per_connection=settings.max_subscriptions_per_connection,
            recheck_seconds=settings.subscription_auth_recheck_seconds,
        ),
        resolve_document=allow_list.resolve if allow_list is not None else None,
    )

    streams = EventStreams(
        schema,
        hub,
        viewer_for,
        live_context,
        settings.subscription_auth_recheck_seconds,
        resolve_document=allow_list.resolve if allow_list is not None else None,
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await hub.stop()
        await changes.stop()
        await dispose(engine)

    instrument_engine(engine)
    endpoint = GraphQLEndpoint(
        schema,
        get_context,
        ide_page=explorer.render if explorer is not None else None,
        on_result=lambda _request, result, request_error: record_graphql_errors(
            result.errors, request_error
        ),
        resolve_document=allow_list.resolve if allow_list is not None else None,
        timeout_seconds=settings.query_timeout_seconds,
        max_json_depth=settings.max_input_depth,
        whole_answers=WholeAnswers(schema._schema) if options.json_rows else None,
    )
    gate = Middleware(
        GatewayMiddleware,
        authenticator=authenticator,
        auth_enabled=settings.auth == "on",
        # the wallboard page and its scripts hold no data (its subscriptions carry the token)
        public_paths=[*settings.public_paths, "/wallboard"],
        admin_paths=settings.admin_paths,
        max_body_bytes=settings.max_body_bytes,
        body_limits={"/events": settings.max_events_body_bytes},
        public_prefixes=(f"/{ASSETS_URL}/", f"/{wallboard.ASSETS_URL}/"),
        ide_paths=("/graphql",) if explorer is not None else (),
    )
    routes: list[Any] = [
        *operation_routes(engine),
        # GraphQL over SSE answers requests accepting `text/event-stream`; the rest as before
        Route("/graphql", EventStreamRouter(endpoint, streams)),
        Route("/wallboard", wallboard.WallboardPage(options.timezone).render, methods=["GET"]),
        Mount(
            f"/{wallboard.ASSETS_URL}",
            StaticFiles(directory=wallboard.ASSETS_DIR, check_dir=False),
        ),
        Route(
            "/events",
            events_endpoint(IngestQueue(Ingestor(engine, options.timezone))),
            methods=["POST"],
        ),
        Mount(f"/{ASSETS_URL}", StaticFiles(directory=assets.ASSETS_DIR, check_dir=False)),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(FaultGuard),
            Middleware(ObservabilityMiddleware),
            # WebSocket subscriptions authenticate in `connection_init` (browsers cannot set
            # headers on the upgrade request), so they are routed before the gate
            Middleware(WebSocketRouter, path="/graphql", server=sockets),
            gate,
        ],
        lifespan=lifespan,
    )
