"""Local-time buckets in SQL, the same on SQLite and PostgreSQL.

Instants are stored as epoch seconds, so local time is `t + offset(t)`. The offset of a zone is
constant between its transitions (DST changes), so `offset(t)` is a CASE over the transitions
inside the data's range. From the local day number, calendar fields come from integer arithmetic
(Howard Hinnant's `civil_from_days`): no engine-specific date functions are needed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, literal, type_coerce

Int = ColumnElement[int]
DAY = 86_400


def _offset(t: int, tz: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(t, UTC).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def transitions(tz: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int]]:
    """`(instant, offset from then on)` for each offset change in `[lo, hi]`, found by bisection."""
    found: list[tuple[int, int]] = []
    step = 6 * 3600  # no zone changes its offset twice within six hours
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


def local_seconds(instant: ColumnElement[object], tz: ZoneInfo, lo: int, hi: int) -> Int:
    """Seconds since the epoch in local wall-clock time, valid for instants in `[lo, hi]`."""
    t: Int = type_coerce(instant, BigInteger)
    changes = transitions(tz, lo, hi)
    if not changes:
        return t + _offset(lo, tz)
    branches = []
    previous = _offset(lo, tz)
    for at, offset in changes:
        branches.append((t < at, literal(previous)))
        previous = offset
    return t + case(*branches, else_=literal(previous))


def civil(days: Int) -> tuple[Int, Int, Int]:
    """(year, month, day) of a day number since 1970-01-01, in SQL integer arithmetic."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = case((mp < 10, mp + 3), else_=mp - 9)
    year = yoe + era * 400 + case((month <= 2, 1), else_=0)
    return year, month, day


def days_from_civil_jan1(year: Int) -> Int:
    """Day number of 1 January of `year`."""
    y = year - 1
    era = y // 400
    yoe = y - era * 400
    doe = yoe * 365 + yoe // 4 - yoe // 100 + 306
    return era * 146_097 + doe - 719_468


def iso_week(days: Int) -> Int:
    """ISO 8601 week number of a day number: weeks belong to the year of their Thursday."""
    thursday = days - (days + 3) % 7 + 3
    year, _, _ = civil(thursday)
    return (thursday - days_from_civil_jan1(year)) // 7 + 1
