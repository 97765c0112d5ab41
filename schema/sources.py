"""What each resolver-backed field reads and how the executor binds it: one typed registry.

A field declared here is known to three readers: the executor (`schema/executor.py`) binds its
arguments once per query and calls it per object; the column planner (`schema/columns.py`)
selects only the row columns it reads and joins its to-one link into the page holding it. A field
not declared here takes graphql-core's path and gets whole rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resolvers.json_rows import Encoding
from resolvers.metrics.json_metrics import JsonMetrics

Binder = Callable[..., Callable[[Any], Any]]
"""`bind(ctx, field_nodes, fragments, **arguments)`: checks and converts a field's arguments once
for the query and returns its resolver per object, whose result is a value, an awaitable or a
`schema.executor.Later`."""


MetricsInJson = Callable[[Any, list[Any], Any], JsonMetrics | None]
"""`in_json(ctx, field_nodes, fragments)`: the field's `JsonMetrics` for this request (its
arguments read with the request's variables), or None when GraphQL must answer it."""


@dataclass(frozen=True)
class FieldSource:
    """A resolver-backed field as the executor and the column planner see it."""

    needs: tuple[str, ...]
    """Columns of the object's row it reads (the key is always there)."""
    bind: Binder | None = None
    """Its binder; without one, graphql-core runs the resolver."""
    join: tuple[str, str] | None = None
    """`(foreign key column, target type)` of a to-one link a page may join to its own rows."""
    json: Encoding | None = None
    """How the database writes the field into a row's JSON (`resolvers/json_rows.py`), when
    it computes from the row alone (the global id; the date dimension of the instant in
    `needs`)."""
    connection: ConnectionSource | None = None
    """A connection field's target and plan maker (`schema/whole_answers.py` reads them)."""
    metrics: MetricsInJson | None = None
    """A `metrics` field's maker of its answer in a page's rows."""
    whole: Callable[..., Any] | None = None
    """A root field's maker of its whole answer (`schema/whole_answers.py`):
    `whole(ctx, field_def, definition, field_nodes, fragments, variables)`, its JSON as a
    scalar subquery, or None (or `BadInput`) when GraphQL must answer it."""


@dataclass(frozen=True)
class ConnectionSource:
    """What a connection field pages over, and how its arguments and selection compile."""

    target: str
    owner: str | None
    """The type holding a nested connection; None at the root."""
    prepare: Callable[..., Any]
    """`prepare(ctx, field_nodes, fragments, filter, order_by, relay)`: its `PagePlan`."""


_SOURCES: dict[object, FieldSource] = {}


def declare(resolver: Callable[..., Any], source: FieldSource) -> None:
    """Record what `resolver` (the function a Strawberry field wraps) reads and how it binds."""
    _SOURCES[resolver] = source


def source_of(resolver: object) -> FieldSource | None:
    """The declaration of a field's resolver function, or None for an undeclared one."""
    return _SOURCES.get(resolver)
