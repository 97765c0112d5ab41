"""The size of a GraphQL document as it would run, measured once per fragment.

A few hundred bytes whose fragments spread each other three ways a dozen levels deep stand for
half a million fields. Walking such a document spread by spread (as the depth and alias limiters
of Strawberry do) costs what running it would; here every fragment is measured once, after the
fragments it spreads, and a spread adds its fragment's measure. The work is linear in the length
of the document whatever it expands to, and the numbers saturate at a ceiling so they stay small.

A fragment cycle is measured as if the spread closing it were empty; validation refuses cycles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    visit,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Shape:
    """Fields and aliases once fragments are expanded, and the depth below the root fields
    (introspection fields do not count towards the depth, as in Strawberry's limiter)."""

    fields: int = 0
    aliases: int = 0
    depth: int = 0


EMPTY = Shape()


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def spreads(selections: SelectionSetNode | None) -> Iterator[str]:
    """The names of the fragments a selection set spreads, at any depth inside it."""
    stack = [selections]
    while stack:
        current = stack.pop()
        for selection in current.selections if current else ():
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, FieldNode | InlineFragmentNode):
                stack.append(selection.selection_set)


def fragment_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Fragments so that each comes after those it spreads (iterative: no recursion limit)."""
    done: set[str] = set()
    order: list[str] = []
    for root in fragments:
        if root in done:
            continue
        open_: set[str] = {root}
        stack: list[tuple[str, Iterator[str]]] = [(root, spreads(fragments[root].selection_set))]
        while stack:
            name, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                open_.discard(name)
                done.add(name)
                order.append(name)
            elif child in fragments and child not in done and child not in open_:
                open_.add(child)
                stack.append((child, spreads(fragments[child].selection_set)))
    return order


def per_fragment(
    document: DocumentNode, measure: Callable[[SelectionSetNode, dict[str, T]], T]
) -> dict[str, T]:
    """`measure` of every fragment, each computed once with the measures of those it spreads."""
    fragments = fragments_of(document)
    found: dict[str, T] = {}
    for name in fragment_order(fragments):
        found[name] = measure(fragments[name].selection_set, found)
    return found


class ShapeMeter:
    """Measures shapes, saturating every count at `ceiling`."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling

    def document(self, document: DocumentNode) -> Shape:
        """The shape of all operations of `document` together (depth: the deepest one)."""
        known = per_fragment(document, self.selection_set)
        total = EMPTY
        for operation in operations_of(document):
            total = self._add(total, self.selection_set(operation.selection_set, known))
        return total

    def selection_set(self, selections: SelectionSetNode, known: dict[str, Shape]) -> Shape:
        total = EMPTY
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                inner = selection.selection_set
                child = self.selection_set(inner, known) if inner is not None else EMPTY
                counted = inner is not None and not selection.name.value.startswith("__")
                own = Shape(
                    1 + child.fields,
                    int(selection.alias is not None) + child.aliases,
                    1 + child.depth if counted else 0,
                )
                total = self._add(total, own)
            elif isinstance(selection, InlineFragmentNode):
                total = self._add(total, self.selection_set(selection.selection_set, known))
            elif isinstance(selection, FragmentSpreadNode):
                total = self._add(total, known.get(selection.name.value, EMPTY))
        return total

    def _add(self, a: Shape, b: Shape) -> Shape:
        return Shape(
            min(a.fields + b.fields, self.ceiling),
            min(a.aliases + b.aliases, self.ceiling),
            max(a.depth, b.depth),
        )


class _Pairs(Visitor):
    def __init__(self, ceiling: int) -> None:
        super().__init__()
        self.ceiling = ceiling
        self.total = 0

    def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
        keys: Counter[str] = Counter()
        spread = 0
        stack = [node]
        while stack:  # inline fragments' fields merge with their parent's
            for selection in stack.pop().selections:
                if isinstance(selection, FieldNode):
                    keys[(selection.alias or selection.name).value] += 1
                elif isinstance(selection, InlineFragmentNode):
                    stack.append(selection.selection_set)
                else:
                    spread += 1
        work = sum(n * (n - 1) // 2 for n in keys.values()) + spread * (spread - 1) // 2
        self.total = min(self.total + work, self.ceiling)


def field_pairs(document: DocumentNode, ceiling: int) -> int:
    """Pairs validation compares to check that fields can merge: same-named fields and fragment
    spreads in one selection set, each written selection set once (graphql-core caches fragment
    pairs). A few hundred copies of one field are valid but cost validation a second."""
    pairs = _Pairs(ceiling)
    visit(document, pairs)
    return pairs.total
