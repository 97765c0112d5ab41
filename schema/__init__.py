"""GraphQL types: what clients see. `build_schema()` assembles them."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

import schema.connections as connections
from schema.query import Query


def _should_mask(error: GraphQLError) -> bool:
    """Mask anything that is not a deliberate client-facing error (no internals leak)."""
    original = error.original_error
    if original is None:
        return False  # validation and parse errors from graphql-core
    return not isinstance(original, GraphQLError)


def build_schema() -> strawberry.Schema:
    types = [*connections.ENTITY_TYPES, *connections.GENERATED.values()]
    extensions: list[Any] = [
        lambda: MaskErrors(should_mask_error=_should_mask, error_message="Internal error.")
    ]
    return strawberry.Schema(query=Query, types=types, extensions=extensions)
