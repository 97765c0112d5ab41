"""Limits on hostile queries, checked before anything runs and off the event loop.

One schema extension hands the document to `DocumentChecker` (`gateway/document_checks.py`):
tokens, then depth, aliases and expanded fields measured once per fragment, then validation,
then the argument values and the cost with the request's variables. Strawberry's own depth and
alias limiters are not used: they expand every fragment spread anew, so a small document whose
fragments spread each other a few ways a dozen levels deep would hold the worker for a minute.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import AddValidationRules, DisableIntrospection, SchemaExtension

from gateway.document_checks import DocumentChecker, Limits
from gateway.settings import Settings


class DocumentLimits(SchemaExtension):
    """Parse, measure and validate the document in the checker; refuse it with a coded error.

    Strawberry parses and validates only what no extension did before it: the document and the
    validation errors (an empty list when valid) are set here during parsing.
    """

    def __init__(self, checker: DocumentChecker) -> None:
        self.checker = checker

    async def on_parse(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if ec.graphql_document is None and ec.query is not None:
            document, errors = await self.checker.check(
                ec.schema._schema, ec.query, ec.variables, ec.validation_rules
            )
            if document is None:
                raise errors[0]  # Strawberry answers it as a request error
            ec.graphql_document = document
            ec.pre_execution_errors = errors
        yield


def checker_limits(settings: Settings) -> Limits:
    return Limits(
        max_tokens=settings.max_tokens,
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_fields=settings.max_fields,
        max_field_pairs=settings.max_field_pairs,
        max_cost=settings.max_cost,
        default_page=settings.options().default_page_size,
        max_input_depth=settings.max_input_depth,
        max_input_values=settings.max_input_values,
        max_input_objects=settings.max_input_objects,
        check_seconds=settings.document_check_seconds,
    )


def limit_extensions(settings: Settings) -> list[Any]:
    """The schema extensions enforcing the settings' limits (one checker, with its cache)."""
    checker = DocumentChecker(checker_limits(settings))
    rules = [] if settings.introspection else list(DisableIntrospection().validation_rules)
    # factories, not instances: an extension holds its request's state, so one per request
    return [lambda: AddValidationRules(rules), lambda: DocumentLimits(checker)]
