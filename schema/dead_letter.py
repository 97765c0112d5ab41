"""DeadLetter: TaskRouter events the ingest could not understand, kept with the reason.

Dead letters hold raw payloads (worker and customer attributes), so they are for administrators:
`ADMIN_ONLY` is the one place that decides who may list them. `deadLetters` is the only way to
reach them (`node(id:)` refuses the type), and the row scope hides the type from every role but
admin as well (no rule in `resolvers/scope.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.permission import BasePermission

from schema.base import context, node_type

F = strawberry.field


class AdminOnly(BasePermission):
    """Who may read dead letters: administrators."""

    message = "Dead letters are for administrators."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return context(info).viewer.is_admin


ADMIN_ONLY: list[type[BasePermission]] = [AdminOnly]
NOT_BY_NODE_ID = frozenset({"DeadLetter"})
"""Types `node(id:)` does not serve, so their own field's permission is the only way in."""


@node_type
@strawberry.type(
    description="A TaskRouter event the ingest could not understand: its raw text, the reason "
    "and where it came from. Nothing sent to the gateway is silently dropped."
)
class DeadLetter:
    dead_letter_id: int = F(description="Natural key, in the order the dead letters were filed.")
    source: str | None = F(description="File name (or `<stdin>`) or `http` for `POST /events`.")
    line: int | None = F(description="Line in the file, or position in the HTTP body, from 1.")
    raw: str = F(description="The event text exactly as received.")
    reason: str = F(description="Why the event was rejected.")
    received_at: datetime = F(description="When the gateway received it (UTC).")
