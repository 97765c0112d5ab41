"""The outermost guard: an exception no route handled becomes a JSON 500 with a request id.

Starlette's own last resort answers `Internal Server Error` in plain text. Clients of this
gateway parse every answer as JSON, and an operator needs to find the traceback of the request a
user reports, so the guard answers `{"errors": [...]}` with code `INTERNAL_SERVER_ERROR` and the
request id, and logs the traceback under that id. The exception's text never reaches the client.
"""

from __future__ import annotations

import json
import logging
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observability import request_id_var

log = logging.getLogger("insights_gateway.errors")
MESSAGE = "Internal server error."


def error_body(message: str, code: str, request_id: str) -> bytes:
    """The JSON error answer every gateway refusal uses: one error with a code and the id."""
    body = {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
    return json.dumps(body).encode()


class FaultGuard:
    """Turns an escaped exception into a JSON 500 (when no answer has started yet)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            request_id = _request_id(scope)
            log.exception("request %s: unhandled error on %s", request_id, scope.get("path"))
            if started:
                raise  # half an answer is out: only closing the connection is left
            headers = [
                (b"content-type", b"application/json"),
                (b"x-request-id", request_id.encode()),
            ]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            body = error_body(MESSAGE, "INTERNAL_SERVER_ERROR", request_id)
            await send({"type": "http.response.body", "body": body})


def _request_id(scope: Scope) -> str:
    """The id the request was logged under, when one was assigned before the failure."""
    state = scope.get("state") or {}
    return str(state.get("request_id") or request_id_var.get() or uuid.uuid4().hex)
