"""Row cursors of a report: a position in its order, tied to the report that made it.

A report's rows are groups: every page aggregates the whole scope anyway, so a cursor holds the
position after a row (SQL `OFFSET` on the grouped statement) rather than its sort values. The
grouped dimensions break every tie, so positions are stable under the report's order; the
fingerprint makes `after` refuse a cursor of another report (other groupBy, filter, order,
range or time zone) instead of silently paging something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from resolvers.errors import BadInput
from resolvers.metrics.dimensions import Dimension

if TYPE_CHECKING:
    from resolvers.metrics.compute import Scope
    from resolvers.metrics.report import OrderKey

PREFIX = "report"
MAX_POSITION = 10**9


def fingerprint(dimensions: Sequence[Dimension], scope: Scope, order: Sequence[OrderKey]) -> str:
    """What makes two reports' row orders the same."""
    shape = (
        tuple(d.name for d in dimensions),
        scope.token,
        scope.zone.key,
        tuple((k.dimension.name if k.dimension else None, k.metric, k.descending) for k in order),
    )
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:16]


def row_cursor(report: str, position: int) -> str:
    """The cursor after the row at 0-based `position - 1`: the next page starts at `position`."""
    return base64.urlsafe_b64encode(f"{PREFIX}:{report}:{position}".encode()).decode("ascii")


def position_after(cursor: str | None, report: str) -> int:
    """Where the page after `cursor` starts; a cursor of another report is a clear error."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        prefix, made_by, position = text.split(":")
        value = int(position)
    except (ValueError, UnicodeError, binascii.Error):
        raise BadInput("`after` is not a report row cursor.") from None
    if prefix != PREFIX or not 0 <= value <= MAX_POSITION:
        raise BadInput("`after` is not a report row cursor.")
    if made_by != report:
        raise BadInput(
            "`after` is a row cursor of another report: page with the same `groupBy`, "
            "`filter`, `orderBy`, `from`/`to` and `timeZone`."
        )
    return value
