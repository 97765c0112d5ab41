"""Limits on hostile queries, checked before anything runs: depth, aliases, tokens, cost.

Depth, aliases and tokens use Strawberry's own extensions. The cost is ours: like GitHub's node
limit, the product of the page sizes along each path of the query (`first`/`last`, or the
default page size, for every connection; the number of ids for `nodes`), and the largest path must
stay under the maximum. It runs before validation, on the parsed document with the variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    value_from_ast_untyped,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from gateway.settings import Settings

PAGE_ROWS = frozenset({"nodes", "edges"})


class QueryCost:
    """The estimated rows a document may touch: the largest product of page sizes on a path."""

    def __init__(self, document: Any, variables: dict[str, Any] | None, default_page: int) -> None:
        self.variables = variables or {}
        self.default_page = default_page
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]

    def total(self) -> int:
        return max((self._walk(op.selection_set, 1, ()) for op in self.operations), default=0)

    def _argument(self, field: FieldNode, name: str) -> Any:
        for argument in field.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    return self.variables.get(argument.value.name.value)
                return value_from_ast_untyped(argument.value, self.variables)
        return None

    def _size(self, field: FieldNode) -> int:
        """Rows this field multiplies its selection by (1 for a plain field)."""
        if field.name.value == "nodes" and field.arguments:
            ids = self._argument(field, "ids")
            return len(ids) if isinstance(ids, list) else 1
        first, last = self._argument(field, "first"), self._argument(field, "last")
        explicit = [v for v in (first, last) if isinstance(v, int)]
        if explicit:
            return max(max(explicit), 1)
        names = {s.name.value for s in self._fields(field.selection_set, ())}
        return self.default_page if names & PAGE_ROWS else 1

    def _fields(
        self, selections: SelectionSetNode | None, seen: tuple[str, ...]
    ) -> Iterator[FieldNode]:
        """The fields of a selection set, fragments flattened (a fragment cycle stops)."""
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    yield from self._fields(fragment.selection_set, (*seen, name))

    def _walk(self, selections: SelectionSetNode | None, rows: int, seen: tuple[str, ...]) -> int:
        worst = rows
        for field in self._fields(selections, seen):
            if field.selection_set is None:
                continue
            worst = max(worst, self._walk(field.selection_set, rows * self._size(field), seen))
        return worst


class CostLimiter(SchemaExtension):
    """Reject a document whose estimated cost is above the maximum, before it runs."""

    def __init__(self, max_cost: int, default_page: int) -> None:
        self.max_cost = max_cost
        self.default_page = default_page

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is not None and not ec.pre_execution_errors:
            cost = QueryCost(ec.graphql_document, ec.variables, self.default_page).total()
            if cost > self.max_cost:
                ec.pre_execution_errors = [
                    GraphQLError(
                        f"Query cost {cost} is above the maximum of {self.max_cost}: the product "
                        "of page sizes (`first`/`last`, default "
                        f"{self.default_page}) along a path. Ask for smaller pages.",
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost},
                    )
                ]
        yield


def limit_extensions(settings: Settings) -> list[Any]:
    """The schema extensions enforcing the settings' limits, with parse and validation caches.

    Dashboards send the same few documents over and over: parsing and validating one costs more
    than running a small page, so both are cached per document text (bounded LRU). The depth and
    alias rules are built once, so the validation cache sees the same rules every request.
    """
    page = settings.options().default_page_size
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    if not settings.introspection:
        rules.extend(DisableIntrospection().validation_rules)
    # factories, not instances: an extension holds its request's state, so one per request.
    # The validation cache runs before the cost check, which only looks at valid documents.
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
        ParserCache,
        ValidationCache,
        lambda: CostLimiter(settings.max_cost, page),
    ]
