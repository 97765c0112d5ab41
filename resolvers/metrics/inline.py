"""Constants of metric formulas written into the SQL text, so equal aggregates are one aggregate.

Several metrics share an aggregate (`abandonedConversationsRate` divides the distinct counts of
`abandonedConversations` and `conversations`; `averageHandlingTime` divides by
`handledConversations`'s count). Both engines compute an aggregate that appears twice in a
statement once, but only when the two are identical: with every constant a separate bound
parameter (`kind = ?1` and `kind = ?8`) they are not, and SQLite builds a temporary B-tree per
`count(DISTINCT ...)` copy. Written inline, the copies are equal and the work is done once.

Only numbers and plain words are written inline; anything else stays a bound parameter.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from resolvers.metrics.percentile import PercentileCont

_PLAIN_WORD = re.compile(r"[A-Za-z0-9_ .:-]{0,64}")


def _inlinable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and _PLAIN_WORD.fullmatch(value) is not None


def _inline(element: Any, **_: Any) -> Any:
    if isinstance(element, BindParameter) and _inlinable(element.value):
        # a new key: a copy of the catalog's shared parameter under its key would clash with any
        # use of the original left bound elsewhere in the statement
        return bindparam(None, element.value, type_=element.type, literal_execute=True)
    if isinstance(element, PercentileCont):
        # its value is no traversable child: rebuilt with its constants inline too
        return PercentileCont(constants_inline(element.value), element.fraction)
    return None  # keep (and clone) every other element


def constants_inline(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """`expression` with its numeric and plain-word constants rendered in the SQL text."""
    return visitors.replacement_traverse(expression, {}, _inline)
