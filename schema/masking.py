"""Unexpected errors reach the client as `Internal error.` with a request id; the log has the rest.

The request id ties a user's report to the log line holding the exception and its traceback.
"""

from __future__ import annotations

import logging
import uuid

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from strawberry.extensions import MaskErrors

from warehouse.limits import beyond_engine_limits

log = logging.getLogger("insights_gateway.errors")
MESSAGE = "Internal error."
TOO_COMPLEX = (
    "The request is more than the database can evaluate in one statement (too many filter "
    "terms or values, or nested too deeply): simplify the filter or split the request."
)
UNAVAILABLE = "The warehouse database is unavailable right now; retry shortly."
# what SQLite says when its file cannot be reached (not a fault of the statement)
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")


def database_unavailable(error: BaseException | None) -> bool:
    """The database could not be reached or dropped the connection: an outage, not a fault of
    the request or of the gateway (a refused or reset connection, a file that cannot be opened)."""
    if isinstance(error, OSError):  # asyncpg's connect: refused, unreachable, timed out
        return True
    if isinstance(error, InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OperationalError):
        text = str(error.orig).lower()
        return any(reason in text for reason in _SQLITE_UNREACHABLE)
    return False


def should_mask(error: GraphQLError) -> bool:
    """Mask anything that is not a deliberate client-facing error (no internals leak)."""
    original = error.original_error
    if original is None:
        return False  # validation and parse errors from graphql-core
    return not isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """`MaskErrors` that logs the hidden exception under the request's id and hands out the id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message=MESSAGE)

    def _request_id(self) -> str:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "") or uuid.uuid4().hex
        if context is not None and hasattr(context, "request_id") and not context.request_id:
            context.request_id = request_id  # one id for every error of the request
        return str(request_id)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = self._request_id()
        if beyond_engine_limits(error.original_error):
            log.info("request %s: statement beyond the engine's limits", request_id)
            return _replaced(error, TOO_COMPLEX, "QUERY_TOO_COMPLEX", request_id)
        if database_unavailable(error.original_error):
            log.warning("request %s: database unavailable: %s", request_id, error.original_error)
            return _replaced(error, UNAVAILABLE, "SERVICE_UNAVAILABLE", request_id)
        log.error(
            "request %s: unexpected error at %s",
            request_id,
            ".".join(map(str, error.path or [])) or "(operation)",
            exc_info=error.original_error,
        )
        return _replaced(error, MESSAGE, "INTERNAL_SERVER_ERROR", request_id)


def _replaced(error: GraphQLError, message: str, code: str, request_id: str) -> GraphQLError:
    """`error` at its place in the document and response, saying `message` and nothing else."""
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={"code": code, "requestId": request_id},
    )
