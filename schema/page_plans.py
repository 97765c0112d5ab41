"""Connection plans, compiled once per document, arguments and viewer, reused by every request.

A dashboard sends the same documents all day. What a connection field's arguments and selection
compile to (the checked page arguments, the scoped filter, the columns read, the links joined, the
JSON shape) depends only on the document, the argument values and who asks, so it is kept here
and the request binds it to its own context (its loaders, its connections).

The key holds the identity of the document's field nodes (the parsed document is cached per
text), of the converted argument values (cached per value by the executor), the raw page
arguments (a root connection's only as given or not: a client walking through the rows sends a
new cursor every time, one showing more a larger `first`, and the root page's statement binds
both, `resolvers/pages.py`), the values of the variables used below the field (the JSON shape
compiles the arguments of its nested pages and date dimensions; a variable used only as a root
connection's own page argument is left out) and the viewer. The entry keeps those
objects alive, so their identities cannot be reused by other objects while the entry exists.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FragmentSpreadNode, Node, VariableNode
from graphql.execution import VariableValues

from resolvers.context import Context
from resolvers.json_rows import JsonShape
from resolvers.pages import ChildRequest, Join, Page
from resolvers.pagination import OrderSpec, PageArgs
from schema.columns import Columns
from schema.executor import freeze

MAX_PLANS = 2048


@dataclass(frozen=True)
class PagePlan:
    """A connection field compiled for one document, argument values and viewer."""

    args: PageArgs
    order: OrderSpec
    cursors: bool  # `edges` or `pageInfo` selected: cursors are encoded
    shape: JsonShape | None  # the rows come back as their answers
    columns: Columns
    links: tuple[Join, ...]
    condition: Any  # the scoped filter
    template: ChildRequest | None  # a nested connection's request, its parent left out
    skipped: Page | None  # only `totalCount` selected: the page nobody reads
    # with a shape: the columns and links that read the rows as objects instead, when the
    # database refuses the statement writing their JSON for its size
    objects: tuple[Columns, tuple[Join, ...]] | None = None


Relay = tuple[int | None, str | None, int | None, str | None]
CURSOR_GIVEN = "\x00given"
"""Stands for a cursor in a root plan's key and arguments (its value is bound at the read)."""
SIZE_GIVEN = 0
"""Stands for a page size in a root plan's key and arguments (its value is bound at the read)."""


def given(relay: Relay) -> Relay:
    """`relay` with each argument as given or not, as a root plan is keyed (its page's defaults
    and checks depend on no more)."""
    first, after, last, before = relay
    return (
        None if first is None else SIZE_GIVEN,
        None if after is None else CURSOR_GIVEN,
        None if last is None else SIZE_GIVEN,
        None if before is None else CURSOR_GIVEN,
    )


Prepare = Callable[[Context, list[Any], Mapping[str, Any], Any, Any, Relay], PagePlan]


class PlanCache:
    """The most recently used plans, at most `size` of them."""

    def __init__(self, size: int = MAX_PLANS) -> None:
        self.size = size
        self._plans: OrderedDict[Any, tuple[Any, PagePlan]] = OrderedDict()

    def get(
        self,
        prepare: Prepare,
        ctx: Context,
        field_nodes: list[Any],
        fragments: Mapping[str, Any],
        filter: Any,
        order_by: Any,
        relay: Relay,
        unkeyed: frozenset[str] = frozenset(),
    ) -> PagePlan:
        """The plan `prepare` makes of these, made once (a plan that fails is not kept).

        A variable given as one of the field's own `unkeyed` arguments, and used nowhere else
        below it, is left out of the key (`relay` keys what the plan needs of it)."""
        options = ctx.options
        try:
            used = _variable_values(field_nodes, fragments, ctx.variables, unkeyed)
        except TypeError:  # a value that cannot be a key: compiled for this request alone
            return prepare(ctx, field_nodes, fragments, filter, order_by, relay)
        key = (
            prepare,
            tuple(map(id, field_nodes)),
            id(filter),
            id(order_by),
            relay,
            used,
            ctx.viewer,
            (options.default_page_size, options.max_page_size, options.json_rows),
            options.timezone,  # the date dimensions' and metrics' default zone
            options.thresholds,  # the metrics' (their JSON is compiled into the rows')
            ctx.takes_json_rows,
        )
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found[1]
        plan = prepare(ctx, field_nodes, fragments, filter, order_by, relay)
        self._plans[key] = ((field_nodes, filter, order_by), plan)
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan

    def __len__(self) -> int:
        return len(self._plans)


PLANS = PlanCache()


def _variable_values(
    field_nodes: list[Any],
    fragments: Mapping[str, Any],
    variables: VariableValues | None,
    unkeyed: frozenset[str] = frozenset(),
) -> tuple[Any, ...]:
    """The values of the variables used below the field (its nested connections' and date
    dimensions' arguments are compiled into its plan), as a key."""
    if variables is None or not variables.coerced:
        return ()
    names = _variables_below(tuple(field_nodes), fragments, unkeyed)
    given = variables.coerced
    return tuple((name, name in given, freeze(given.get(name))) for name in names)


# (ids of a field's nodes, unkeyed arguments) -> (the nodes, kept alive so the ids stay theirs;
# the variables below)
_BELOW: dict[tuple[Any, ...], tuple[tuple[Any, ...], tuple[str, ...]]] = {}


def _variables_below(
    field_nodes: tuple[Any, ...], fragments: Mapping[str, Any], unkeyed: frozenset[str]
) -> tuple[str, ...]:
    key = (*map(id, field_nodes), unkeyed)
    found = _BELOW.get(key)
    if found is not None:
        return found[1]
    names: set[str] = set()
    for node in field_nodes:
        for argument in node.arguments or ():
            if not (argument.name.value in unkeyed and isinstance(argument.value, VariableNode)):
                _collect(argument, fragments, names, set())
        for directive in node.directives or ():
            _collect(directive, fragments, names, set())
        if node.selection_set is not None:
            _collect(node.selection_set, fragments, names, set())
    if len(_BELOW) >= MAX_PLANS:
        _BELOW.clear()
    _BELOW[key] = (field_nodes, tuple(sorted(names)))
    return _BELOW[key][1]


def _collect(node: Any, fragments: Mapping[str, Any], names: set[str], seen: set[str]) -> None:
    """Add the names of the variables `node` (an AST node) holds, fragments followed."""
    if isinstance(node, VariableNode):
        names.add(node.name.value)
        return
    if isinstance(node, FragmentSpreadNode):
        fragment = fragments.get(node.name.value)
        if fragment is not None and node.name.value not in seen:
            seen.add(node.name.value)
            _collect(fragment, fragments, names, seen)
    for attribute in node.keys:
        value = getattr(node, attribute, None)
        for child in value if isinstance(value, tuple | list) else (value,):
            if isinstance(child, Node):
                _collect(child, fragments, names, seen)
