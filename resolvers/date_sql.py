"""The date dimension written by the database: `resolvers/dates.py`'s parts, in SQL.

A row answered as JSON (`resolvers/json_rows.py`) writes the `date { … }` of its instants in
the same statement, equal to what `date_parts` computes in Python, DST days included:

- local time is `t + offset(t)`, the offset a CASE over the zone's transitions (found in Python,
  as `resolvers/metrics/timebuckets.py` finds them) between the years 2000 and 2100: the window
  every stored instant passed at ingest (`warehouse/fits.py`);
- the local time, written as if it were UTC, gives the calendar date with the database's own
  UTC calendar (`strftime` on SQLite, `to_char` on PostgreSQL: no time zone involved), the ISO
  week and its year are those of the week's Thursday, clock parts and the weekday integer
  arithmetic, names by CASE.

The local time is a one-row derived table correlated to the row, so the long CASE of the offset
is written once, not once per part.
"""

from __future__ import annotations

import calendar
import itertools
import math
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from resolvers.json_pages import json_object
from resolvers.metrics.timebuckets import transitions
from warehouse.fits import EARLIEST_SECOND, LATEST_SECOND

DAY = 86_400
TYPENAME = "__typename"
PARTS = (
    "date", "year", "quarter", "month", "month_name", "week", "week_year", "day_of_week",
    "day_of_week_name", "day_of_month", "hour", "interval_30_minutes", "interval_15_minutes",
    "time",
)  # fmt: skip
_MONTHS = [(n, calendar.month_name[n]) for n in range(1, 13)]
_DAYS = [(n, calendar.day_name[n - 1]) for n in range(1, 8)]  # ISO 1 = Monday


def _number(value: int) -> Any:
    """An integer written into the statement (a CASE of 200 transitions binds no parameters)."""
    return literal_column(str(value), BigInteger)


@cache
def zone_changes(zone: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    """The zone's offset at the window's start and its changes over the window (computed once
    per zone and process: a day's step finds a century's changes in about a tenth of a second;
    no zone changes its offset twice within a day)."""
    tz = ZoneInfo(zone)
    start = datetime.fromtimestamp(EARLIEST_SECOND, UTC).astimezone(tz).utcoffset()
    offset = int(start.total_seconds()) if start is not None else 0
    return offset, tuple(transitions(tz, EARLIEST_SECOND, LATEST_SECOND, step=DAY))


def _offset(t: Any, before: int, steps: tuple[tuple[int, int], ...]) -> Any:
    """The offset at instant `t`: a CASE over the changes, two levels of flat CASEs (about 15
    comparisons for a century of DST; nesting deeper overflows SQLite's parser stack)."""
    size = max(1, math.isqrt(len(steps)))
    chunks = [steps[i : i + size] for i in range(0, len(steps), size)]
    inners = [_flat(t, before, chunks[0])] if chunks else [_number(before)]
    inners += [_flat(t, previous[-1][1], chunk) for previous, chunk in itertools.pairwise(chunks)]
    if len(inners) == 1:
        return inners[0]
    ends = [chunk[-1][0] for chunk in chunks[:-1]]
    return case(
        *((t < _number(end), inner) for end, inner in zip(ends, inners, strict=False)),
        else_=inners[-1],
    )


def _flat(t: Any, before: int, changes: tuple[tuple[int, int], ...]) -> Any:
    """The offset at `t` over `changes` (`before` until the first), one flat CASE."""
    offsets = [before, *(offset for _, offset in changes)]
    whens = [(t < _number(at), _number(offsets[i])) for i, (at, _) in enumerate(changes)]
    return case(*whens, else_=_number(offsets[-1]))


def date_json(
    instant: Any, outer: Any, zone: str, keys: tuple[tuple[str, str], ...], dialect: str
) -> ColumnElement[Any]:
    """The JSON object of the date dimension of `instant` (a column of `outer`, the row's FROM
    clause; not null) in `zone`, under `keys`: (response key, part of `PARTS` or `__typename`)."""
    t: Any = type_coerce(instant, BigInteger)
    before, steps = zone_changes(zone)
    local = select((t + _offset(t, before, steps)).label("l")).correlate(outer).subquery()
    seconds = local.c.l  # local wall-clock time as seconds since the epoch, positive
    day_of_week = (seconds // DAY + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
    # the ISO week and its year are those of the week's Thursday
    thursday = seconds + (4 - day_of_week) * DAY
    month = calendar_text(dialect, seconds, "%m")
    hour, minute = seconds % DAY // 3600, seconds % 3600 // 60
    values: dict[str, Any] = {
        "date": calendar_text(dialect, seconds, "%Y-%m-%d", number=False),
        "year": calendar_text(dialect, seconds, "%Y"),
        "quarter": (month - 1) // 3 + 1,
        "month": month,
        "month_name": case(*((month == n, literal(name, String)) for n, name in _MONTHS)),
        "week": (calendar_text(dialect, thursday, "%j") - 1) // 7 + 1,
        "week_year": calendar_text(dialect, thursday, "%Y"),
        "day_of_week": day_of_week,
        "day_of_week_name": case(*((day_of_week == n, literal(name, String)) for n, name in _DAYS)),
        "day_of_month": calendar_text(dialect, seconds, "%d"),
        "hour": hour,
        "interval_30_minutes": clock_text(dialect, hour, minute // 30 * 30),
        "interval_15_minutes": clock_text(dialect, hour, minute // 15 * 15),
        "time": clock_text(dialect, hour, minute),
    }
    pairs = [
        (key, literal("DateDimension", String) if part == TYPENAME else values[part])
        for key, part in keys
    ]
    return select(json_object(pairs, dialect)).select_from(local).scalar_subquery()


_POSTGRESQL = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%j": "DDD", "-": "-"}


def calendar_text(dialect: str, seconds: Any, template: str, number: bool = True) -> Any:
    """A calendar field of the UTC date of `seconds` (the local time written as if UTC)."""
    if dialect == "sqlite":
        text: Any = func.strftime(template, seconds, "unixepoch")
    else:
        pattern = "".join(_POSTGRESQL[p] for p in re.findall(r"%\w|-", template))
        moment = func.timezone("UTC", func.to_timestamp(seconds))
        text = func.to_char(moment, pattern)
    return cast(text, Integer) if number else text


def clock_text(dialect: str, hour: Any, minute: Any) -> Any:
    """`HH:MM`."""
    if dialect == "sqlite":
        return func.printf("%02d:%02d", hour, minute)
    return (
        func.to_char(hour, "FM00")
        .op("||")(literal(":", String))
        .op("||")(func.to_char(minute, "FM00"))
    )
