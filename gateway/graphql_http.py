"""`/graphql` as the GraphQL-over-HTTP specification asks (https://graphql.github.io/graphql-over-http/).

- POST with `Content-Type: application/json` runs any operation; GET (`?query=…&variables=…`) runs
  queries only: a mutation over GET is `405` with `Allow: POST`.
- The response media type follows `Accept`: `application/graphql-response+json` when the client
  asks for it, `application/json` when it asks for that, for `*/*` or sends no `Accept`; `406`
  when it accepts neither.
- A request that is not a well-formed GraphQL-over-HTTP request (body not JSON, not an object,
  `query` missing or not a string, `variables` not an object, ...) is `400`; another method is
  `405`; another content type is `415`. Those answers are `{"errors": [...]}` naming the problem.
- A well-formed request whose document does not parse or validate (or whose variables do not
  coerce) is a *request error*: `400` under `application/graphql-response+json`, `200` under
  `application/json` (legacy clients look at the body only). Field errors are always `200`.
- `GET` from a browser (`Accept: text/html`, no `query`) serves GraphiQL when enabled.
- Optional: an allow-list resolves the document to run (persisted operations), and a timeout
  cancels a request running past its budget, its SQL statements included.

Strawberry's own view does not distinguish these cases, so this module is a thin endpoint of its
own over `Schema.execute`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from gateway import json_input
from gateway.csv_export import CSV, NotAReport, lines, plan_for, wants_csv

log = logging.getLogger("insights_gateway")

DEFAULT_DEPTH = 32
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ALLOWED_METHODS = "GET, POST"


# the `extensions.code` of a refused request, by status (every error carries a code)
STATUS_CODES = {
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class HTTPProblem(Exception):
    """A request the endpoint refuses before running anything: a status, a message, a code."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code or STATUS_CODES.get(status, "BAD_REQUEST")


@dataclass(frozen=True)
class Params:
    """The GraphQL-over-HTTP request parameters."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def response_media_type(accept: str | None) -> str:
    """The media type to answer in, from the `Accept` header (highest q first, ties in order)."""
    if not accept or not accept.strip():
        return JSON
    offers: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *parameters = (p.strip() for p in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            offers.append((-quality, index, media.lower()))
    for _, _, media in sorted(offers):
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON, "application/*", "*/*"):
            return JSON
    raise HTTPProblem(
        406, f"Not acceptable: {accept!r}. This endpoint answers {GRAPHQL_RESPONSE} or {JSON}."
    )


def _json_param(value: str | None, name: str, max_depth: int) -> Any:
    if value is None or value == "":
        return None
    try:
        return json_input.loads(value, max_depth, f"The `{name}` parameter")
    except json_input.JsonInputError as error:
        raise HTTPProblem(400, str(error)) from None


DocumentResolver = Callable[[str | None, dict[str, Any] | None], str]
"""Turns the sent `query` and `extensions` into the document to run (the allow-list), or raises
ValueError naming why the request is refused."""


def parse_params(body: Any, resolve: DocumentResolver | None = None) -> Params:
    """Check the shape of the parameters and name the first thing wrong."""
    if not isinstance(body, dict):
        raise HTTPProblem(
            400,
            "The request body must be a JSON object with a `query` (batches are not supported).",
        )
    query = body.get("query")
    if resolve is not None:
        extensions = body.get("extensions")
        try:
            query = resolve(
                query if isinstance(query, str) else None,
                extensions if isinstance(extensions, dict) else None,
            )
        except ValueError as error:
            raise HTTPProblem(400, str(error)) from None
    if query is None or query == "":
        raise HTTPProblem(400, "Missing `query`: send the GraphQL document to run.")
    if not isinstance(query, str):
        raise HTTPProblem(400, "`query` must be a string holding a GraphQL document.")
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise HTTPProblem(400, "`variables` must be a JSON object (or null).")
    operation_name = body.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HTTPProblem(400, "`operationName` must be a string (or null).")
    extensions = body.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise HTTPProblem(400, "`extensions` must be a JSON object (or null).")
    return Params(query, variables, operation_name, extensions)


async def read_params(
    request: Request, resolve: DocumentResolver | None = None, max_depth: int = DEFAULT_DEPTH
) -> Params:
    """The parameters of a GET (query string) or POST (JSON body) request."""
    if request.method == "GET":
        args = request.query_params
        return parse_params(
            {
                "query": args.get("query"),
                "variables": _json_param(args.get("variables"), "variables", max_depth),
                "operationName": args.get("operationName") or None,
                "extensions": _json_param(args.get("extensions"), "extensions", max_depth),
            },
            resolve,
        )
    content_type = request.headers.get("content-type", "")
    media, *parameters = (p.strip().lower() for p in content_type.split(";"))
    if media != JSON:
        shown = content_type or "none"
        raise HTTPProblem(415, f"Unsupported media type {shown!r}: POST with {JSON!r}.")
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            raise HTTPProblem(415, f"Unsupported charset {value.strip()!r}: send UTF-8 {JSON}.")
    raw = await request.body()
    try:
        body = json_input.loads(raw, max_depth + 2)  # the body and its `variables` object
    except json_input.JsonInputError as error:
        raise HTTPProblem(400, str(error)) from None
    return parse_params(body, resolve)


class TimedOutResult(ExecutionResult):
    """A run the timeout cut off: an execution error (`data: null`), not a request error."""


def is_request_error(result: ExecutionResult) -> bool:
    """No execution happened: the document did not parse/validate or the variables did not coerce.

    Field errors always carry a `path`; request errors never do.
    """
    if isinstance(result, PreExecutionError):
        return True
    if isinstance(result, TimedOutResult):
        return False
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


RETRY_AFTER_SECONDS = 5


def _only_outage(result: ExecutionResult) -> bool:
    """Every root field is null and every error is the database's outage (a partial answer stays
    a 200: the fields that answered are worth having)."""
    if not result.errors or any(v is not None for v in (result.data or {}).values()):
        return False
    return all((e.extensions or {}).get("code") == "SERVICE_UNAVAILABLE" for e in result.errors)


def _with_code(error: dict[str, Any], request_error: bool) -> dict[str, Any]:
    """Every request error names its kind: those graphql-core raises itself (variables that do not
    coerce, an unknown operation name) carry no code of their own."""
    extensions = error.get("extensions") or {}
    if not request_error or extensions.get("code"):
        return error
    return {**error, "extensions": {**extensions, "code": "BAD_USER_INPUT"}}


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def problem_response(problem: HTTPProblem, media_type: str = JSON) -> Response:
    error = {"message": problem.message, "extensions": {"code": problem.code}}
    return Response(
        dumps({"errors": [error]}),
        status_code=problem.status,
        media_type=media_type,
        headers=problem.headers,
    )


class WholeAnswers(Protocol):
    """Answers the database writes whole (`schema/whole_answers.py`)."""

    async def answer(
        self, ctx: Any, query: str, operation_name: str | None, variables: Any
    ) -> bytes | None: ...

    def learn(self, ctx: Any, query: str, operation_name: str | None, variables: Any) -> None: ...


ANSWERED = ExecutionResult(data={}, errors=None)  # what `on_result` sees of a whole answer

ContextGetter = Callable[[Request], Awaitable[Any]]
ResultHook = Callable[[Request, ExecutionResult, bool], None]


class GraphQLEndpoint:
    """The `/graphql` ASGI endpoint; `on_result(request, result, request_error)` sees each run."""

    def __init__(
        self,
        schema: BaseSchema,
        get_context: ContextGetter,
        *,
        ide_page: Callable[[], str] | None = None,
        on_result: ResultHook | None = None,
        resolve_document: DocumentResolver | None = None,
        timeout_seconds: float | None = None,
        max_json_depth: int = DEFAULT_DEPTH,
        whole_answers: WholeAnswers | None = None,
    ) -> None:
        self.whole_answers = whole_answers
        self.max_json_depth = max_json_depth
        self.schema = schema
        self.get_context = get_context
        self.ide_page = ide_page
        self.on_result = on_result
        self.resolve_document = resolve_document
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Answer one request (every method comes here, so each gets a clear answer)."""
        if request.method not in ("GET", "POST"):
            return problem_response(
                HTTPProblem(
                    405,
                    f"Method {request.method} is not allowed: use POST, or GET for queries.",
                    {"Allow": ALLOWED_METHODS},
                )
            )
        if self.ide_page is not None and self._wants_ide(request):
            return HTMLResponse(self.ide_page())
        if wants_csv(request.headers.get("accept")):
            return await self._csv(request)
        try:
            media_type = response_media_type(request.headers.get("accept"))
        except HTTPProblem as problem:
            return problem_response(problem)
        try:
            params = await read_params(request, self.resolve_document, self.max_json_depth)
            result = await self._execute_in_time(request, params, self.whole_answers)
        except HTTPProblem as problem:
            return problem_response(problem, media_type)
        if isinstance(result, bytes):  # the database wrote the whole answer
            if self.on_result is not None:
                self.on_result(request, ANSWERED, False)
            return Response(result, media_type=media_type)
        request_error = is_request_error(result)
        if self.on_result is not None:
            self.on_result(request, result, request_error)
        payload: dict[str, Any] = {} if request_error else {"data": result.data}
        if result.errors:
            payload["errors"] = [
                _with_code(dict(e.formatted), request_error) for e in result.errors
            ]
        if result.extensions:
            payload["extensions"] = result.extensions
        if _only_outage(result):  # nothing answered, and only because the database is down
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return Response(dumps(payload), status_code=503, media_type=media_type, headers=headers)
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE else 200
        return Response(dumps(payload), status_code=status, media_type=media_type)

    async def _csv(self, request: Request) -> Response:
        """A `report` query answered as a CSV file; its errors are JSON with a non-200 status."""
        try:
            params = await read_params(request, self.resolve_document, self.max_json_depth)
            plan = plan_for(params.query, params.operation_name)
            result = await self._execute_in_time(request, params)
            assert isinstance(result, ExecutionResult)  # no whole answers here
        except HTTPProblem as problem:
            return problem_response(problem)
        except NotAReport as refusal:
            return problem_response(HTTPProblem(406, f"Accept: text/csv: {refusal}"))
        except GraphQLError as error:  # the document does not parse: the run reports it
            result = PreExecutionError(data=None, errors=[error])
        request_error = is_request_error(result)
        if self.on_result is not None:
            self.on_result(request, result, request_error)
        if result.errors or result.data is None:
            payload = {"errors": [e.formatted for e in result.errors or []]}
            return Response(dumps(payload), status_code=400 if request_error else 422,
                            media_type=JSON)  # fmt: skip
        return StreamingResponse(
            iter(lines(plan, result.data)),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="report.csv"'},
        )

    def _wants_ide(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def _execute_in_time(
        self, request: Request, params: Params, whole: WholeAnswers | None = None
    ) -> ExecutionResult | bytes:
        """Run within the timeout; past it, the statements the request started are cancelled.

        With `whole`, a document the database answers whole is answered so (the response body),
        and one GraphQL answers without error is offered to it to learn.
        """
        context = await self.get_context(request)
        args = (context, params.query, params.operation_name, params.variables)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                if whole is not None:
                    body = await whole.answer(*args)
                    if body is not None:
                        return body
                result = await self._execute(request, params, context)
                if whole is not None and not result.errors and result.data is not None:
                    whole.learn(*args)
                return result
        except TimeoutError:
            cancel = getattr(context, "cancel_running", None)
            if cancel is not None:
                await cancel()  # statements loaders started in tasks of their own
            request_id = getattr(context, "request_id", "")
            log.warning("request %s: cancelled after %ss", request_id, self.timeout_seconds)
            error = GraphQLError(
                f"Query took longer than {self.timeout_seconds:g} s and was cancelled.",
                extensions={"code": "TIMEOUT", "requestId": request_id},
            )
            return TimedOutResult(data=None, errors=[error])

    async def _execute(self, request: Request, params: Params, context: Any) -> ExecutionResult:
        allowed = (
            (OperationType.QUERY,)
            if request.method == "GET"
            else (OperationType.QUERY, OperationType.MUTATION)
        )
        try:
            return await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type == OperationType.MUTATION and request.method == "GET":
                raise HTTPProblem(
                    405, "Mutations are not allowed over GET: use POST.", {"Allow": "POST"}
                ) from None
            raise HTTPProblem(
                400 if request.method == "POST" else 405,
                f"{error.operation_type.value.title()} operations are not supported here.",
                {"Allow": "POST"} if request.method == "GET" else None,
            ) from None
        except CannotGetOperationTypeError as error:
            reason = error.as_http_error_reason()
            unknown = GraphQLError(reason, extensions={"code": "BAD_USER_INPUT"})
            return PreExecutionError(data=None, errors=[unknown])
