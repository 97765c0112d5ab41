"""Text arguments must not hold the NUL character (U+0000).

PostgreSQL's text type cannot hold it: a filter, id or comment carrying one failed there as an
internal error, while SQLite took it. Both engines now refuse it the same way, before anything
runs, as the client's mistake (`BAD_USER_INPUT`), whether it came in the document (`"\\u0000"`)
or in a variable. Found by the fuzz test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

NUL = "\x00"
MESSAGE = "Text values must not contain the NUL character (U+0000)."


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class _FindNul(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[StringValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if NUL in node.value:
            self.nodes.append(node)


class RefuseNulText(SchemaExtension):
    """Refuse a valid document whose string literals or variables hold a NUL."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is not None and not ec.pre_execution_errors:
            nodes: list[StringValueNode] = []
            if "\\u" in (ec.query or ""):  # a literal NUL can only be written escaped
                finder = _FindNul()
                visit(ec.graphql_document, finder)
                nodes = finder.nodes
            if nodes or _holds_nul(ec.variables):
                error = GraphQLError(MESSAGE, nodes, extensions={"code": "BAD_USER_INPUT"})
                ec.pre_execution_errors = [error]
        yield
