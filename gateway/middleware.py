"""The gate in front of every route: request id, body size limit and authentication.

It is ASGI middleware, so any route added later (`/events`, `/metrics`) is covered without
doing anything; only `public_paths` (default `/healthz`) are served without credentials. The
request's `Viewer` and id land in `request.state.viewer` and `request.state.request_id`;
`admin_paths` (default `/events`, `/metrics`) answer 403 to every other role.
"""

from __future__ import annotations

import logging
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import Authenticator, AuthError, AuthUnavailable, is_loopback
from gateway.fault_guard import error_body
from gateway.graphql_http import RETRY_AFTER_SECONDS
from gateway.observability import request_id_var
from resolvers.viewer import Viewer

log = logging.getLogger("insights_gateway.auth")


class GatewayMiddleware:
    """Assigns a request id, refuses oversized bodies (413) and unauthenticated calls (401);
    503 when the credentials cannot be checked (the API-key lookup's database is down)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        auth_enabled: bool,
        public_paths: list[str],
        max_body_bytes: int,
        body_limits: dict[str, int] | None = None,
        admin_paths: list[str] | None = None,
        public_prefixes: tuple[str, ...] = (),
        ide_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.public_prefixes = public_prefixes
        self.ide_paths = frozenset(ide_paths)
        self.authenticator = authenticator
        self.auth_enabled = auth_enabled
        self.public_paths = frozenset(public_paths)
        self.admin_paths = frozenset(admin_paths or ())
        self.max_body_bytes = max_body_bytes
        self.body_limits = body_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        # the observability middleware outside names the request (and answers the header)
        assigned = request_id_var.get()
        request_id = assigned or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start" and not assigned:
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        if scope["type"] == "http":
            most = self.body_limits.get(scope["path"], self.max_body_bytes)
            buffered = await self._read_body(receive, headers, most)
            if buffered is None:
                limit = f"Request body is above the maximum of {most} bytes."
                await self._reject(send_with_id, 413, limit, "BODY_TOO_LARGE", request_id)
                return
            receive = _replay(buffered, receive)

        if not self._public(scope, headers):
            try:
                state["viewer"] = await self._viewer(scope, headers.get("authorization"))
            except AuthUnavailable as error:
                log.warning("request %s: credentials not checkable: %s", request_id, error)
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1013})  # try again later
                    return
                message = "Cannot check credentials right now (database unavailable); retry later."
                await self._reject(send_with_id, 503, message, "SERVICE_UNAVAILABLE", request_id)
                return
            except AuthError as error:
                log.info("request %s refused: %s", request_id, error)
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                message = f"Authentication required: {error}."
                await self._reject(send_with_id, 401, message, "UNAUTHENTICATED", request_id)
                return
            if scope["path"] in self.admin_paths and not state["viewer"].is_admin:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                message = f"Only admins may call {scope['path']}."
                await self._reject(send_with_id, 403, message, "FORBIDDEN", request_id)
                return
        await self.app(scope, receive, send_with_id)

    def _public(self, scope: Scope, headers: dict[str, str]) -> bool:
        """Served without credentials: the public paths, and the GraphiQL page with its assets
        (they hold no data; the queries GraphiQL sends carry the token like any other)."""
        path: str = scope["path"]
        if path in self.public_paths or path.startswith(self.public_prefixes):
            return True
        return (
            path in self.ide_paths
            and scope.get("method") == "GET"
            and "text/html" in headers.get("accept", "")
            and b"query=" not in scope.get("query_string", b"")
        )

    async def _viewer(self, scope: Scope, authorization: str | None) -> Viewer:
        if not self.auth_enabled and authorization is None:
            client = scope.get("client")
            if client is not None and is_loopback(client[0]):
                return Viewer.system()
        return await self.authenticator.viewer(authorization)

    async def _read_body(
        self, receive: Receive, headers: dict[str, str], most: int
    ) -> list[Message] | None:
        """The body's messages, or None when it is above `most` bytes (read no further)."""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > most:
            return None
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > most:
                return None
            if not message.get("more_body", False):
                return messages

    async def _reject(
        self, send: Send, status: int, message: str, code: str, request_id: str
    ) -> None:
        body = error_body(message, code, request_id)
        headers = [(b"content-type", b"application/json")]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="insights-gateway"'))
        if status == 503:
            headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands out the buffered body first, then defers to the real one."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
