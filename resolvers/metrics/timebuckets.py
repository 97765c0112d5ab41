"""Local-time buckets in SQL, the same on SQLite and PostgreSQL.

Instants are stored as epoch seconds, so local time is `t + offset(t)`. The offset of a zone is
constant between its transitions (DST changes), so `offset(t)` is a CASE over the transitions
inside the data's range. Years, quarters, months and weeks are step functions of the instant
with steps at local midnights, computed in Python for the range. Only integer comparisons and
arithmetic reach SQL, so SQLite and PostgreSQL compute the same buckets with no date functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, literal, type_coerce

from resolvers.errors import BadInput

Int = ColumnElement[int]
DAY = 86_400
# a couple of days inside the calendar Python can represent, so any zone's local date exists
EARLIEST = int(datetime(1, 1, 3, tzinfo=UTC).timestamp())
LATEST = int(datetime(9999, 12, 29, tzinfo=UTC).timestamp())


def check_span(lo: int, hi: int, max_days: int) -> None:
    """Refuse a range before its buckets are computed: the steps below walk every six hours and
    every day of the range, so a range of millennia would hold the worker for a minute."""
    if lo < EARLIEST or hi > LATEST:
        raise BadInput("The time range must lie between the years 1 and 9999.", code="OUT_OF_RANGE")
    days = -(-(hi - lo) // DAY)
    if days > max_days:
        raise BadInput(
            f"The time range spans {days} days, above the maximum of {max_days} for grouping by "
            "time; pass `from` and `to` closer together.",
            code="RANGE_TOO_LONG",
        )


def _offset(t: int, tz: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(t, UTC).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def transitions(tz: ZoneInfo, lo: int, hi: int, step: int = 6 * 3600) -> list[tuple[int, int]]:
    """`(instant, offset from then on)` for each offset change in `[lo, hi]`, found by bisection
    (no zone changes its offset twice within `step` seconds)."""
    found: list[tuple[int, int]] = []
    t = lo
    current = _offset(lo, tz)
    while t < hi:
        nxt = min(t + step, hi)
        following = _offset(nxt, tz)
        if following != current:
            a, b = t, nxt  # offset(a) == current, offset(b) == following
            while b - a > 1:
                mid = (a + b) // 2
                if _offset(mid, tz) == current:
                    a = mid
                else:
                    b = mid
            found.append((b, following))
            current = following
        t = nxt
    return found


def piecewise(value: Int, steps: list[tuple[int, int]], before: int) -> Int:
    """A step function of `value` as a balanced nested CASE: `before` until the first step's
    threshold, then each step's result from its threshold on. Depth is log2 of the steps, so
    years of DST changes or weeks cost a few comparisons per row, not hundreds."""
    if not steps:
        return literal(before)
    middle = len(steps) // 2
    threshold, result = steps[middle]
    lower = piecewise(value, steps[:middle], before)
    upper = piecewise(value, steps[middle + 1 :], result)
    return case((value < threshold, lower), else_=upper)


def local_seconds(instant: ColumnElement[object], tz: ZoneInfo, lo: int, hi: int) -> Int:
    """Seconds since the epoch in local wall-clock time, valid for instants in `[lo, hi]`."""
    t: Int = type_coerce(instant, BigInteger)
    changes = transitions(tz, lo, hi)
    if not changes:
        return t + _offset(lo, tz)
    return t + piecewise(t, changes, _offset(lo, tz))


def calendar_steps(
    tz: ZoneInfo, lo: int, hi: int, field: Callable[[date], int]
) -> tuple[int, list[tuple[int, int]]]:
    """`field` of the local date as steps over UTC instants: (value at `lo`, [(instant, value)]).

    Years, quarters, months and ISO weeks change only at local midnights, so comparing the raw
    instant with those midnights needs no calendar arithmetic in SQL at all.
    """
    first = datetime.fromtimestamp(lo, UTC).astimezone(tz).date()
    last = datetime.fromtimestamp(hi, UTC).astimezone(tz).date()
    current = field(first)
    steps: list[tuple[int, int]] = []
    day = first + timedelta(days=1)
    while day <= last:
        value = field(day)
        if value != current:
            # fold=0: a midnight skipped by DST maps to the instant the day begins
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            steps.append((int(midnight.timestamp()), value))
            current = value
        day += timedelta(days=1)
    return field(first), steps


def calendar_bucket(
    instant: ColumnElement[object], tz: ZoneInfo, lo: int, hi: int, field: Callable[[date], int]
) -> Int:
    """The local calendar `field` (year, month, ...) of instants in `[lo, hi]`."""
    t: Int = type_coerce(instant, BigInteger)
    before, steps = calendar_steps(tz, lo, hi, field)
    return piecewise(t, steps, before)
