"""Connection plans, compiled once per document, arguments and viewer, reused by every request.

A dashboard sends the same documents all day. What a connection field's arguments and selection
compile to (the checked page arguments, the scoped filter, the columns read, the links joined, the
JSON shape) depends only on the document, the argument values and who asks, so it is kept here
and the request binds it to its own context (its loaders, its connections).

The key holds the identity of the document's field nodes (the parsed document is cached per
text), of the converted argument values (cached per value by the executor), the raw page
arguments and the viewer. The entry keeps those objects alive, so their identities cannot be
reused by other objects while the entry exists.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from resolvers.context import Context
from resolvers.json_rows import JsonShape
from resolvers.pages import ChildRequest, Join, Page
from resolvers.pagination import OrderSpec, PageArgs
from schema.columns import Columns

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


Relay = tuple[int | None, str | None, int | None, str | None]
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
    ) -> PagePlan:
        """The plan `prepare` makes of these, made once (a plan that fails is not kept)."""
        options = ctx.options
        key = (
            prepare,
            tuple(map(id, field_nodes)),
            id(filter),
            id(order_by),
            relay,
            ctx.viewer,
            (options.default_page_size, options.max_page_size, options.json_rows),
            options.timezone,  # the date dimensions' default zone
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
