"""GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws` protocol of `graphql-ws`.

One connection carries many operations: `connection_init` (with `{"Authorization": "Bearer …"}`
in its payload, or the upgrade request's header) → `connection_ack`; `subscribe` → `next`…
`complete`, or `error`; `ping` → `pong`. Subscriptions join the shared groups of `Hub`; queries
and mutations run once. The close codes are the protocol's: 4400 bad message, 4401 subscribe
before the ack, 4403 credentials refused (also when a key is revoked or a token expires while the
socket is open: they are checked again every few seconds), 4406 wrong subprotocol, 4408 no
`connection_init` in time, 4409 an operation id in use, 4429 a second `connection_init`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from graphql.error import GraphQLSyntaxError
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.schema.base import BaseSchema

from gateway.auth import AuthError, AuthUnavailable
from gateway.subscriptions import (
    Hub,
    Key,
    LimitReached,
    SubscriptionFailed,
    encode,
    payload_of,
)
from resolvers.viewer import Viewer

log = logging.getLogger("insights_gateway")

SUBPROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0

ViewerFor = Callable[[str | None, tuple[str, int] | None], Awaitable[Viewer]]
"""(authorization header value or None, client address) → the viewer, or AuthError."""
DocumentResolver = Callable[[str | None, dict[str, Any] | None], str]


@dataclass(frozen=True)
class Limits:
    per_connection: int
    recheck_seconds: float


@dataclass(frozen=True)
class Operation:
    """A parsed `subscribe` payload: what to run and whether it is a subscription."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    subscription: bool


class RequestProblem(Exception):
    """A `subscribe` payload that cannot run; the message names why."""


def read_operation(payload: Any, resolve_document: DocumentResolver | None) -> Operation:
    """Check a GraphQL-over-HTTP-shaped payload (`query`, `variables`, `operationName`)."""
    if not isinstance(payload, dict):
        raise RequestProblem("The payload must be an object with a `query`.")
    query = payload.get("query")
    extensions = payload.get("extensions")
    if resolve_document is not None:
        try:
            query = resolve_document(
                query if isinstance(query, str) else None,
                extensions if isinstance(extensions, dict) else None,
            )
        except ValueError as error:
            raise RequestProblem(str(error)) from None
    if not isinstance(query, str) or not query:
        raise RequestProblem("Missing `query`: send the GraphQL document to run.")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestProblem("`variables` must be an object (or null).")
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestProblem("`operationName` must be a string (or null).")
    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        raise RequestProblem(error.message) from None
    operation = get_operation_ast(document, name)
    if operation is None:
        raise RequestProblem("The document names no (or no single) operation to run.")
    return Operation(query, variables, name, operation.operation is OperationType.SUBSCRIPTION)


def error_list(message: str, code: str) -> list[dict[str, Any]]:
    return [dict(GraphQLError(message, extensions={"code": code}).formatted)]


class SubscriptionServer:
    """Serves one WebSocket connection after another; shared state lives in the `Hub`."""

    def __init__(
        self,
        schema: BaseSchema,
        hub: Hub,
        viewer_for: ViewerFor,
        make_context: Callable[[Viewer], Any],
        limits: Limits,
        resolve_document: DocumentResolver | None = None,
    ) -> None:
        self.schema = schema
        self.hub = hub
        self.viewer_for = viewer_for
        self.make_context = make_context
        self.limits = limits
        self.resolve_document = resolve_document

    async def serve(self, socket: WebSocket) -> None:
        if SUBPROTOCOL not in socket.scope.get("subprotocols", []):
            await socket.close(4406, f"Subprotocol not acceptable: use {SUBPROTOCOL}.")
            return
        await socket.accept(subprotocol=SUBPROTOCOL)
        await _Connection(self, socket).run()


class _Connection:
    def __init__(self, server: SubscriptionServer, socket: WebSocket) -> None:
        self.server = server
        self.socket = socket
        self.viewer: Viewer | None = None
        self.authorization: str | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()
        self._closed = False

    async def run(self) -> None:
        recheck: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(INIT_TIMEOUT_SECONDS) as deadline:
                while self.viewer is None and not self._closed:
                    await self._handle(await self.socket.receive_text())
                deadline.reschedule(None)
            recheck = asyncio.get_running_loop().create_task(self._recheck())
            while not self._closed:
                await self._handle(await self.socket.receive_text())
        except TimeoutError:
            await self._close(4408, "Connection initialisation timeout")
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away
        finally:
            self._closed = True
            if recheck is not None:
                recheck.cancel()
            for task in list(self.operations.values()):
                task.cancel()
            await asyncio.gather(*self.operations.values(), return_exceptions=True)

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_text(encode(message))

    async def _send_text(self, text: str) -> None:
        async with self._send_lock:
            if not self._closed:
                await self.socket.send_text(text)

    async def _close(self, code: int, reason: str) -> None:
        if not self._closed:
            self._closed = True
            if self.socket.application_state is not WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await self.socket.close(code, reason)

    async def _handle(self, text: str) -> None:
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await self._close(4400, "Invalid message: a JSON object with a `type` is expected.")
            return
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            await self._close(4400, f"Invalid message type {kind!r}.")

    async def _init(self, payload: Any) -> None:
        if self.viewer is not None:
            await self._close(4429, "Too many initialisation requests")
            return
        authorization = None
        if isinstance(payload, dict):
            found = payload.get("Authorization", payload.get("authorization"))
            authorization = found if isinstance(found, str) else None
        if authorization is None:
            authorization = self.socket.headers.get("authorization")
        try:
            self.viewer = await self.server.viewer_for(
                authorization, self.socket.scope.get("client")
            )
        except AuthError as error:
            await self._close(4403, f"Forbidden: {error}")
            return
        self.authorization = authorization
        await self._send({"type": "connection_ack"})

    async def _recheck(self) -> None:
        """End the connection once its credentials no longer hold (revoked key, expiry)."""
        while self.authorization is not None and not self._closed:
            await asyncio.sleep(self.server.limits.recheck_seconds)
            try:
                await self.server.viewer_for(self.authorization, self.socket.scope.get("client"))
            except AuthError as error:
                await self._close(4403, f"Forbidden: {error}")
                return
            except AuthUnavailable:
                continue  # the key store is unreachable: not a refusal, ask again next time

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if self.viewer is None:
            await self._close(4401, "Unauthorized")
            return
        op_id = message.get("id")
        if not isinstance(op_id, str) or not op_id:
            await self._close(4400, "Invalid message: `subscribe` needs a string `id`.")
            return
        if op_id in self.operations:
            await self._close(4409, f"Subscriber for {op_id} already exists")
            return
        most = self.server.limits.per_connection
        if len(self.operations) >= most:
            text = (
                f"This connection already runs its maximum of {most} operations "
                "(INSIGHTS_MAX_SUBSCRIPTIONS_PER_CONNECTION); complete one first."
            )
            await self._send({"id": op_id, "type": "error", "payload": error_list(text, "LIMIT")})
            return
        try:
            operation = read_operation(message.get("payload"), self.server.resolve_document)
        except RequestProblem as problem:
            errors = error_list(str(problem), "BAD_REQUEST")
            await self._send({"id": op_id, "type": "error", "payload": errors})
            return
        run = self._stream if operation.subscription else self._once
        task = asyncio.get_running_loop().create_task(run(op_id, operation, self.viewer))
        self.operations[op_id] = task

    async def _stream(self, op_id: str, operation: Operation, viewer: Viewer) -> None:
        hub = self.server.hub
        try:
            subscriber = hub.open(
                Key.of(operation.query, operation.variables, operation.operation_name, viewer)
            )
        except LimitReached as error:
            self.operations.pop(op_id, None)
            await self._send(
                {"id": op_id, "type": "error", "payload": error_list(str(error), "LIMIT")}
            )
            return
        # every `next` of this operation starts alike; the payload is the group's shared JSON
        head = '{"id":' + encode(op_id) + ',"type":"next","payload":'
        try:
            async for result in subscriber.results():
                await self._send_text(head + result.text + "}")
            await self._send({"id": op_id, "type": "complete"})
        except SubscriptionFailed as failed:
            await self._send({"id": op_id, "type": "error", "payload": failed.errors})
        finally:
            hub.close(subscriber)
            self.operations.pop(op_id, None)

    async def _once(self, op_id: str, operation: Operation, viewer: Viewer) -> None:
        try:
            result = await self.server.schema.execute(
                operation.query,
                variable_values=operation.variables,
                context_value=self.server.make_context(viewer),
                operation_name=operation.operation_name,
            )
            if result.data is None and result.errors and all(e.path is None for e in result.errors):
                errors = [e.formatted for e in result.errors]
                await self._send({"id": op_id, "type": "error", "payload": errors})
                return
            await self._send({"id": op_id, "type": "next", "payload": payload_of(result)})
            await self._send({"id": op_id, "type": "complete"})
        finally:
            self.operations.pop(op_id, None)


class WebSocketRouter:
    """ASGI middleware: WebSocket connections to `path` go to the subscription server."""

    def __init__(self, app: ASGIApp, *, path: str, server: SubscriptionServer) -> None:
        self.app = app
        self.path = path
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == self.path:
            await self.server.serve(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)
