"""GraphQL over Server-Sent Events on `/graphql`, as the `graphql-sse` client speaks it
("distinct connections mode": one operation per request).

A request that accepts `text/event-stream` (a POST with the usual JSON body, or a GET with
`query` in the URL) is answered with an event stream: `event: next` with each result, then
`event: complete`. As the protocol asks, problems found before execution (a document that does
not parse, a limit) arrive as a `next` event holding `errors`, then `complete`. Authentication is
the gate's (the `Authorization` header); the credentials are checked again every few seconds and
the stream ends, with an error, once they no longer hold. Subscriptions share the `Hub`'s groups
with the WebSocket transport; closing the request ends the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.schema.base import BaseSchema

from gateway.auth import AuthError, AuthUnavailable
from gateway.graphql_http import HTTPProblem, read_params
from gateway.subscriptions import (
    Hub,
    Key,
    LimitReached,
    Result,
    SubscriptionFailed,
    encode,
    payload_of,
)
from gateway.subscriptions_ws import (
    DocumentResolver,
    Operation,
    RequestProblem,
    ViewerFor,
    error_list,
    read_operation,
)
from resolvers.viewer import Viewer

EVENT_STREAM = "text/event-stream"
KEEPALIVE_SECONDS = 15.0  # a comment line keeps idle proxies from closing a quiet stream


def event(kind: str, data: Any = None) -> bytes:
    """One SSE message; `complete` keeps an empty `data:` line so EventSource fires for it."""
    return encoded_event(kind, None if data is None else encode(data))


def encoded_event(kind: str, text: str | None) -> bytes:
    """One SSE message around data already encoded (a group's result, shared by its members)."""
    line = f"event: {kind}\ndata:"
    if text is not None:
        line += " " + text
    return (line + "\n\n").encode()


def _errors(message: str, code: str) -> dict[str, Any]:
    return {"errors": error_list(message, code)}


async def _refused(message: str) -> AsyncIterator[bytes]:
    """A request that cannot run, answered as the protocol asks: its errors, then complete."""
    yield event("next", _errors(message, "BAD_REQUEST"))
    yield event("complete")


class EventStreams:
    """Answers `/graphql` requests that accept an event stream."""

    def __init__(
        self,
        schema: BaseSchema,
        hub: Hub,
        viewer_for: ViewerFor,
        make_context: Callable[[Viewer], Any],
        recheck_seconds: float,
        resolve_document: DocumentResolver | None = None,
    ) -> None:
        self.schema = schema
        self.hub = hub
        self.viewer_for = viewer_for
        self.make_context = make_context
        self.recheck_seconds = recheck_seconds
        self.resolve_document = resolve_document

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        # read the request before streaming: the response then listens on `receive` for the
        # client going away, and would swallow a body not yet read
        try:
            params = await read_params(request, self.resolve_document)
            operation = read_operation(
                {
                    "query": params.query,
                    "variables": params.variables,
                    "operationName": params.operation_name,
                },
                None,
            )
            body = self._stream(request, operation)
        except HTTPProblem as problem:
            body = _refused(problem.message)
        except RequestProblem as problem:
            body = _refused(str(problem))
        response = StreamingResponse(
            body,
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        await response(scope, receive, send)

    async def _stream(self, request: Request, operation: Operation) -> AsyncIterator[bytes]:
        viewer: Viewer = getattr(request.state, "viewer", None) or Viewer.system()
        if not operation.subscription:
            result = await self.schema.execute(
                operation.query,
                variable_values=operation.variables,
                context_value=self.make_context(viewer),
                operation_name=operation.operation_name,
            )
            yield event("next", payload_of(result))
            yield event("complete")
            return
        try:
            subscriber = self.hub.open(
                Key.of(operation.query, operation.variables, operation.operation_name, viewer)
            )
        except LimitReached as error:
            yield event("next", _errors(str(error), "LIMIT"))
            yield event("complete")
            return
        authorization = request.headers.get("authorization")
        try:
            async for chunk in self._results(subscriber.results(), authorization, request):
                yield chunk
        finally:
            self.hub.close(subscriber)

    async def _results(
        self, results: AsyncIterator[Result], authorization: str | None, request: Request
    ) -> AsyncIterator[bytes]:
        """The subscriber's results as events, with keep-alives and the credential re-checks."""
        loop = asyncio.get_running_loop()
        checked = loop.time()
        pending: asyncio.Task[Result] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(results))
                wait = min(KEEPALIVE_SECONDS, self.recheck_seconds)
                done, _ = await asyncio.wait({pending}, timeout=wait)
                if done:
                    try:
                        result = pending.result()
                    except StopAsyncIteration:
                        yield event("complete")
                        return
                    except SubscriptionFailed as failed:
                        yield event("next", {"errors": failed.errors})
                        yield event("complete")
                        return
                    pending = None
                    yield encoded_event("next", result.text)
                else:
                    yield b": keep-alive\n\n"
                if authorization is not None and loop.time() - checked >= self.recheck_seconds:
                    checked = loop.time()
                    try:
                        await self.viewer_for(authorization, request.scope.get("client"))
                    except AuthUnavailable:
                        pass  # the key store is unreachable: not a refusal, ask again next time
                    except AuthError as error:
                        message = f"Credentials no longer accepted: {error}."
                        yield event("next", _errors(message, "UNAUTHENTICATED"))
                        yield event("complete")
                        return
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending


class EventStreamRouter:
    """`/graphql`: requests accepting `text/event-stream` go to the event streams, others on."""

    def __init__(self, app: ASGIApp, streams: EventStreams) -> None:
        self.app = app
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = dict(scope.get("headers", [])).get(b"accept", b"").decode("latin-1")
        if scope["type"] == "http" and EVENT_STREAM in accept.lower():
            await self.streams(scope, receive, send)
            return
        await self.app(scope, receive, send)
