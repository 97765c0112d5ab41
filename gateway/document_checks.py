"""Every check of a GraphQL document before it runs, off the event loop and against a deadline.

Order: parse (token limit), measure the document once per fragment (depth, aliases, expanded
fields), validate, then with the request's variables measure the argument values and the cost.
The measures are linear in the document's length, so a small document cannot stand for a large
amount of work; the first three steps are cached per document text (dashboards send the same
few documents over and over). Validation can still take a noticeable fraction of a second on a
document built to be slow (thousands of same-named fields to compare), so all of it runs in a
small thread pool: the event loop keeps serving other requests, and a check that passes its
deadline answers `QUERY_TOO_COMPLEX` instead of holding the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, ValueNode, parse
from strawberry.schema.schema import validate_document

from gateway.document_shape import ShapeMeter, field_pairs
from gateway.input_size import argument_sizes, argument_values
from gateway.query_cost import QueryCost

# few threads: checks are short, and a flood of slow documents must not take every core
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="document-checks")
CACHED_DOCUMENTS = 256


@dataclass(frozen=True)
class Limits:
    """The settings the checks enforce."""

    max_tokens: int
    max_depth: int
    max_aliases: int
    max_fields: int
    max_field_pairs: int
    max_cost: int
    default_page: int
    max_input_depth: int
    max_input_values: int
    max_input_objects: int
    check_seconds: float


@dataclass(frozen=True)
class Parsed:
    """What the checks know of a document text, whatever the variables."""

    document: DocumentNode | None
    errors: list[GraphQLError]
    arguments: list[tuple[str, ValueNode]] = field(default_factory=list)


def coded(error: GraphQLError, code: str) -> GraphQLError:
    """The error with `extensions.code` set (kept when it already has one)."""
    if (error.extensions or {}).get("code"):
        return error
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


def refusal(message: str, code: str, **details: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


class DocumentChecker:
    """Checks documents against `limits`; one per app (its cache holds that app's documents)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._parsed = lru_cache(maxsize=CACHED_DOCUMENTS)(self._parse_and_validate)

    async def check(
        self,
        schema: GraphQLSchema,
        query: str,
        variables: dict[str, Any] | None,
        rules: Sequence[type[ASTValidationRule]],
    ) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """The parsed document (None when it does not parse) and the reasons to refuse it."""
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(_POOL, self.check_now, schema, query, variables, tuple(rules))
        try:
            return await asyncio.wait_for(work, self.limits.check_seconds)
        except TimeoutError:
            seconds = f"{self.limits.check_seconds:g}"
            message = f"The document took more than {seconds} s to check; simplify it."
            return None, [refusal(message, "QUERY_TOO_COMPLEX")]

    def check_now(
        self,
        schema: GraphQLSchema,
        query: str,
        variables: dict[str, Any] | None,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """The checks, in the calling thread."""
        parsed = self._parsed(schema, query, rules)
        if parsed.errors or parsed.document is None:
            return parsed.document, parsed.errors
        return parsed.document, self._with_variables(parsed, variables or {})

    def _parse_and_validate(
        self, schema: GraphQLSchema, query: str, rules: tuple[type[ASTValidationRule], ...]
    ) -> Parsed:
        limits = self.limits
        try:
            document = parse(query, max_tokens=limits.max_tokens)
        except GraphQLError as error:
            tokens = error.message.startswith("Document contains more than")
            return Parsed(
                None, [coded(error, "TOO_MANY_TOKENS" if tokens else "GRAPHQL_PARSE_FAILED")]
            )
        shape = ShapeMeter(ceiling=limits.max_fields + 1).document(document)
        if shape.fields > limits.max_fields:
            message = (
                f"The document expands to more than {limits.max_fields} fields once its "
                "fragments are spread; ask for less."
            )
            return Parsed(document, [refusal(message, "QUERY_TOO_LARGE")])
        if shape.depth > limits.max_depth:
            message = (
                f"The document exceeds maximum operation depth of {limits.max_depth} "
                f"(it is {shape.depth} deep)."
            )
            return Parsed(document, [refusal(message, "QUERY_TOO_DEEP", depth=shape.depth)])
        if shape.aliases > limits.max_aliases:
            message = f"{shape.aliases} aliases found. Allowed: {limits.max_aliases}."
            return Parsed(document, [refusal(message, "TOO_MANY_ALIASES")])
        if field_pairs(document, limits.max_field_pairs + 1) > limits.max_field_pairs:
            message = (
                "The document repeats fields (or fragment spreads) in one selection set more "
                f"than validation may compare ({limits.max_field_pairs} pairs); ask for each once."
            )
            return Parsed(document, [refusal(message, "QUERY_TOO_COMPLEX")])
        errors = validate_document(schema, document, rules)
        if errors:
            return Parsed(document, [coded(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        return Parsed(document, [], argument_values(document))

    def _with_variables(self, parsed: Parsed, variables: dict[str, Any]) -> list[GraphQLError]:
        limits = self.limits
        assert parsed.document is not None
        objects = 0
        for name, size in argument_sizes(parsed.arguments, variables):
            objects += size.objects
            if size.depth > limits.max_input_depth:
                message = (
                    f"Argument `{name}` is nested {size.depth} levels deep, above the maximum "
                    f"of {limits.max_input_depth}."
                )
                return [refusal(message, "INPUT_TOO_DEEP")]
            if size.values > limits.max_input_values:
                message = (
                    f"Argument `{name}` holds {size.values} values, above the maximum of "
                    f"{limits.max_input_values}; split the request or simplify the filter."
                )
                return [refusal(message, "INPUT_TOO_LARGE")]
        if objects > limits.max_input_objects:
            message = (
                f"The arguments hold {objects} input objects (filters and their parts, inputs), "
                f"above the maximum of {limits.max_input_objects}; split the request or use "
                "`in` lists."
            )
            return [refusal(message, "INPUT_TOO_LARGE")]
        cost = QueryCost(parsed.document, variables, limits.default_page).total()
        if cost > limits.max_cost:
            message = (
                f"Query cost {cost} is above the maximum of {limits.max_cost}: the product of "
                f"page sizes (`first`/`last`, default {limits.default_page}) along a path. "
                "Ask for smaller pages."
            )
            return [refusal(message, "QUERY_TOO_COSTLY", cost=cost)]
        return []
