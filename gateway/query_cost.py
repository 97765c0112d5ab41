"""The estimated rows a document may touch, measured once per fragment.

Like GitHub's node limit: the product of the page sizes along each path of the query
(`first`/`last`, or the default page size, for every connection; the number of ids for `nodes`),
and the largest path counts. The cost of a selection set does not depend on the rows above it (it
multiplies them), so each fragment's cost is computed once and a spread reuses it: linear in the
document's length, saturating at a ceiling.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    value_from_ast_untyped,
)

from gateway.document_shape import operations_of, per_fragment

PAGE_ROWS = frozenset({"nodes", "edges"})


class QueryCost:
    """The largest product of page sizes on a path of `document`, at most `ceiling`."""

    def __init__(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        default_page: int,
        ceiling: int = 10**12,
    ) -> None:
        self.document = document
        self.variables = variables or {}
        self.default_page = default_page
        self.ceiling = ceiling

    def total(self) -> int:
        names = per_fragment(self.document, self._names)
        costs = per_fragment(self.document, lambda s, known: self._cost(s, known, names))
        return max(
            (self._cost(op.selection_set, costs, names) for op in operations_of(self.document)),
            default=0,
        )

    def _names(
        self, selections: SelectionSetNode, known: dict[str, frozenset[str]]
    ) -> frozenset[str]:
        """The names of the fields a selection set holds, fragments flattened."""
        found: set[str] = set()
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                found.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                found |= self._names(selection.selection_set, known)
            elif isinstance(selection, FragmentSpreadNode):
                found |= known.get(selection.name.value, frozenset())
        return frozenset(found)

    def _cost(
        self,
        selections: SelectionSetNode,
        known: dict[str, int],
        names: dict[str, frozenset[str]],
    ) -> int:
        """Rows below one row of the parent: 1, or the costliest child path."""
        worst = 1
        for selection in selections.selections:
            if isinstance(selection, FieldNode) and selection.selection_set is not None:
                inner = self._cost(selection.selection_set, known, names)
                worst = max(worst, self._size(selection, names) * inner)
            elif isinstance(selection, InlineFragmentNode):
                worst = max(worst, self._cost(selection.selection_set, known, names))
            elif isinstance(selection, FragmentSpreadNode):
                worst = max(worst, known.get(selection.name.value, 1))
        return min(worst, self.ceiling)

    def _argument(self, field: FieldNode, name: str) -> Any:
        for argument in field.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    return self.variables.get(argument.value.name.value)
                return value_from_ast_untyped(argument.value, self.variables)
        return None

    def _size(self, field: FieldNode, names: dict[str, frozenset[str]]) -> int:
        """Rows this field multiplies its selection by (1 for a plain field)."""
        if field.name.value == "nodes" and field.arguments:
            ids = self._argument(field, "ids")
            return max(len(ids), 1) if isinstance(ids, list) else 1
        first, last = self._argument(field, "first"), self._argument(field, "last")
        explicit = [v for v in (first, last) if isinstance(v, int) and not isinstance(v, bool)]
        if explicit:
            return min(max(max(explicit), 1), self.ceiling)
        assert field.selection_set is not None
        held = self._names(field.selection_set, names)
        return self.default_page if held & PAGE_ROWS else 1
