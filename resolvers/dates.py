"""The date dimension: calendar attributes of an instant in the workspace time zone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from resolvers.errors import BadInput


def zone_named(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """The IANA zone a query asks for (`timeZone:`), else the workspace's; unknown is an error."""
    if name is None:
        return default
    try:
        if len(name) > 64:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= 64 else name[:64] + "…"
        raise BadInput(
            f"`timeZone` {shown!r} is not a known IANA time zone (e.g. 'Europe/London')."
        ) from None


@dataclass(frozen=True)
class DateParts:
    """Every attribute the `DateDimension` GraphQL type serves, computed once per instant."""

    date: str
    year: int
    quarter: int
    month: int
    month_name: str
    week: int
    week_year: int
    day_of_week: int
    day_of_week_name: str
    day_of_month: int
    hour: int
    interval_30_minutes: str
    interval_15_minutes: str
    time: str
    local_time: datetime


def date_parts(instant: datetime, tz: ZoneInfo) -> DateParts:
    """Bucket `instant` in `tz`: DST changes move the local hour, never the instant."""
    local = instant.astimezone(tz)
    iso = local.isocalendar()
    return DateParts(
        date=local.date().isoformat(),
        year=local.year,
        quarter=(local.month - 1) // 3 + 1,
        month=local.month,
        month_name=calendar.month_name[local.month],
        week=iso.week,
        week_year=iso.year,
        day_of_week=iso.weekday,
        day_of_week_name=calendar.day_name[local.weekday()],
        day_of_month=local.day,
        hour=local.hour,
        interval_30_minutes=f"{local.hour:02d}:{local.minute // 30 * 30:02d}",
        interval_15_minutes=f"{local.hour:02d}:{local.minute // 15 * 15:02d}",
        time=f"{local.hour:02d}:{local.minute:02d}",
        local_time=local,
    )
