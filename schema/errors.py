"""Every GraphQL error leaves with a code, and the log tells a client's mistake from our fault.

A client's mistake (a document that does not parse or validate, variables of the wrong type, a
refused argument or filter) is logged once, at INFO, as one line per request without a traceback:
it is the client's to fix and says nothing about the server's health. A fault of ours (any
exception that is not a deliberate `GraphQLError`) is logged at ERROR with its traceback by
`MaskUnexpectedErrors`, which also hides it from the client.

Strawberry's own `process_errors` logs every error at ERROR with the traceback of its cause;
`GatewaySchema` replaces it. It sees each error once, before masking, which is also the moment to
give an error without a code the code of its kind.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from schema.masking import should_mask

log = logging.getLogger("insights_gateway.errors")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"


def code_of(error: GraphQLError) -> str | None:
    extensions = error.extensions or {}
    code = extensions.get("code")
    return code if isinstance(code, str) else None


def default_code(execution_context: ExecutionContext | None) -> str:
    """The code of a client error that brought none, from the step that raised it."""
    if execution_context is None or execution_context.graphql_document is None:
        return PARSE_FAILED
    if execution_context.result is None:
        return VALIDATION_FAILED  # before execution: validation and the limits' checks
    return BAD_USER_INPUT  # during execution: variables that do not coerce, refused arguments


def _one_line(text: str) -> str:
    return " ".join(text.split())


class GatewaySchema(strawberry.Schema):
    """The schema, with error codes filled in and client mistakes logged as one INFO line."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        mistakes = []
        for error in errors:
            if should_mask(error):
                continue  # a fault: MaskUnexpectedErrors logs it once, with its traceback
            if code_of(error) is None:
                error.extensions = {
                    **(error.extensions or {}),
                    "code": default_code(execution_context),
                }
            where = ".".join(map(str, error.path)) if error.path else "(document)"
            mistakes.append(f"{code_of(error)} at {where}: {_one_line(error.message)}")
        if mistakes:
            context: Any = execution_context.context if execution_context else None
            log.info(
                "request %s: client error: %s",
                getattr(context, "request_id", "") or "-",
                " | ".join(mistakes),
            )
