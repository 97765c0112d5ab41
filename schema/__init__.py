"""GraphQL types: what clients see. `build_schema()` assembles them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import schema.connections as connections
from schema.errors import GatewaySchema
from schema.executor import Executor
from schema.masking import MaskUnexpectedErrors
from schema.mutation import Mutation
from schema.nul_text import RefuseNulText
from schema.query import Query
from schema.subscription import Subscription


def build_schema(
    extensions: Sequence[Callable[[], Any] | Any] = (), executor: type | None = Executor
) -> GatewaySchema:
    """The schema; `extensions` adds the gateway's limits (depth, cost, ...) in front of masking.

    `executor=None` runs graphql-core's own executor (the tests' reference for ours).
    """
    types = [*connections.ENTITY_TYPES, *connections.GENERATED.values()]
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=types,
        extensions=[*extensions, RefuseNulText, MaskUnexpectedErrors],
        execution_context_class=executor,
    )
