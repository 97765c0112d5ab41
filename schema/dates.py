"""The date dimension type: how an instant falls on the calendar of the workspace time zone."""

from __future__ import annotations

import dataclasses

import strawberry

from resolvers.dates import DateParts


@strawberry.type(
    description="Calendar attributes of an instant in the workspace time zone (Flex Insights' "
    "date dimension). Buckets hold the instant's local time, so DST days have 23 or 25 hours."
)
class DateDimension:
    date: str = strawberry.field(description="Local calendar date, ISO 8601 (`2026-03-29`).")
    year: int = strawberry.field(description="Local calendar year.")
    quarter: int = strawberry.field(description="Quarter of the year, 1–4.")
    month: int = strawberry.field(description="Month of the year, 1–12.")
    month_name: str = strawberry.field(description="English month name (`January`).")
    week: int = strawberry.field(description="ISO 8601 week number, 1–53.")
    week_year: int = strawberry.field(
        description="ISO 8601 week-numbering year the week belongs to (differs from `year` "
        "around New Year)."
    )
    day_of_week: int = strawberry.field(description="ISO day of the week, 1 = Monday … 7 = Sunday.")
    day_of_week_name: str = strawberry.field(description="English day name (`Monday`).")
    day_of_month: int = strawberry.field(description="Day of the month, 1–31.")
    hour: int = strawberry.field(description="Local hour of the day, 0–23.")
    interval_30_minutes: str = strawberry.field(
        description="Start of the local 30-minute interval, `HH:MM` (13:29 → `13:00`)."
    )
    interval_15_minutes: str = strawberry.field(
        description="Start of the local 15-minute interval, `HH:MM` (13:29 → `13:15`)."
    )
    time: str = strawberry.field(description="Local time of day, `HH:MM`.")

    @classmethod
    def from_parts(cls, parts: DateParts) -> DateDimension:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in dataclasses.asdict(parts).items() if k in names})
