"""What a value must be to fit a warehouse column, checked before anything is written.

An event is only as good as the rows it gives: a number too large for its column, a non-finite
float or a string PostgreSQL cannot store fails the whole statement, and with it every other event
written in that statement. So the ingest checks each value against its column first and turns a
misfit into a reason for the event's dead letter. The same checks serve the boundary (task and
worker attributes as they arrive) and the derived rows (durations computed from timestamps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, String, Table
from sqlalchemy.types import TypeDecorator

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
EARLIEST_SECOND = int(EARLIEST.timestamp())  # the window an event time must fall in
LATEST_SECOND = int(LATEST.timestamp())
MAX_TEXT = 100_000  # characters of one value; longer is not a real attribute


class Misfit(ValueError):
    """A value that does not fit its column; the message names the column and the value."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_text(name: str, value: str) -> str:
    """A string PostgreSQL and SQLite can store: no NUL, no lone surrogate, not absurdly long."""
    if len(value) > MAX_TEXT:
        raise Misfit(f"{name} is longer than {MAX_TEXT:,} characters")
    if "\x00" in value:
        raise Misfit(f"{name} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Misfit(f"{name} is not valid Unicode (a lone surrogate)") from None
    return value


def check_int(name: str, value: int, bounds: tuple[int, int] = INT64) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise Misfit(f"{name} {_shown(value)} is out of range ({low:,} to {high:,})")
    return value


def check_float(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise Misfit(f"{name} must be a finite number, got {_shown(value)}")
    return value


def whole_number(name: str, value: Any, bounds: tuple[int, int] = INT64) -> int:
    """An integer from a JSON number or a numeric string (form posts send strings); else Misfit."""
    if isinstance(value, bool):
        raise Misfit(f"{name} must be a number, got a boolean")
    if isinstance(value, int):
        return check_int(name, value, bounds)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit() and len(text) <= 25:
            return check_int(name, int(text), bounds)
        try:
            value = float(text)
        except ValueError:
            raise Misfit(f"{name} must be a number, got {_shown(value)}") from None
    if isinstance(value, float):
        check_float(name, value)
        if not bounds[0] <= value <= bounds[1]:
            raise Misfit(f"{name} {_shown(value)} is out of range ({bounds[0]:,} to {bounds[1]:,})")
        return int(value)
    raise Misfit(f"{name} must be a number, got {type(value).__name__}")


def to_date(name: str, value: Any) -> date:
    """A date from epoch milliseconds (TaskRouter's worker attributes) or an ISO date string."""
    if isinstance(value, bool):
        raise Misfit(f"{name} must be a date, got a boolean")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        millis = whole_number(name, value)
        seconds = millis / 1000
        if not EARLIEST_SECOND - 100 * 365 * 86400 <= seconds <= LATEST_SECOND:
            raise Misfit(f"{name} {_shown(value)} (epoch milliseconds) is not a sane date")
        return datetime.fromtimestamp(seconds, UTC).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise Misfit(f"{name} must be a date, got {_shown(value)}") from None
    raise Misfit(f"{name} must be a date, got {type(value).__name__}")


def _misfit(name: str, value: Any) -> Misfit:
    return Misfit(f"{name} {_shown(value)} does not fit its column")


def check_value(name: str, column: Any, value: Any) -> None:
    """Raise `Misfit` when `value` (already a Python value) cannot be stored in `column`."""
    if value is None:
        if not column.nullable and not column.primary_key and column.default is None:
            raise Misfit(f"{name} is required")
        return
    kind = column.type
    if isinstance(kind, TypeDecorator):
        if isinstance(value, datetime):
            return
        kind = kind.impl_instance
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise _misfit(name, value)
    elif isinstance(value, bool):
        raise _misfit(name, value)
    elif isinstance(kind, Integer):
        if not isinstance(value, int):
            raise _misfit(name, value)
        check_int(name, value, INT64 if isinstance(kind, BigInteger) else INT32)
    elif isinstance(kind, Float):
        if isinstance(value, int):
            check_int(name, value)
        elif isinstance(value, float):
            check_float(name, value)
        else:
            raise _misfit(name, value)
    elif isinstance(kind, Date):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise _misfit(name, value)
    elif isinstance(kind, String):
        if not isinstance(value, str):
            raise _misfit(name, value)
        check_text(name, value)


def check_row(table: Table, row: Mapping[str, Any], what: str) -> None:
    """Check every value of a row about to be written to `table`.

    Ingest checks every derived row (tens of values each, a hundred thousand rows per million
    events): a value is first offered to its column's plain test (`_fits`), and only one that
    fails it goes through `check_value`, which raises naming the problem.
    """
    fits = _FITS.get(table)
    if fits is None:
        fits = _FITS[table] = {c.name: (c, _fits(c)) for c in table.columns}
    for name, value in row.items():
        found = fits.get(name)
        if found is not None and not found[1](value):
            check_value(f"{what} {name}", found[0], value)


def scalar_text(name: str, value: Any) -> str:
    if isinstance(value, dict | list):
        raise Misfit(f"{name} must be a single value, got a {type(value).__name__}")
    if isinstance(value, float):
        check_float(name, value)
    return check_text(name, str(value))


def coerce(name: str, column: Any, value: Any) -> Any:
    """An attribute value as `column` stores it (None for null or ""); `Misfit` when it cannot be.

    Numbers may come as strings (form posts and hand-written attributes do that), booleans as
    `true`/`yes`/`1`, dates as epoch milliseconds or ISO strings.
    """
    if value is None or value == "":
        return None
    kind = column.type
    if isinstance(kind, TypeDecorator):
        return None  # instants are derived from event times, never taken from attributes
    if isinstance(kind, Boolean):
        if isinstance(value, str):
            return value.strip().lower() in ("true", "yes", "1")
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(check_float(name, float(value)))
        raise Misfit(f"{name} must be a boolean, got a {type(value).__name__}")
    if isinstance(kind, Integer):
        return whole_number(name, value, INT64 if isinstance(kind, BigInteger) else INT32)
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise Misfit(f"{name} must be a number, got {type(value).__name__}")
        try:
            number = float(value)
        except (ValueError, OverflowError):
            raise Misfit(f"{name} must be a number, got {_shown(value)}") from None
        return check_float(name, number)
    if isinstance(kind, Date):
        return to_date(name, value)
    return scalar_text(name, value)


_FITS: dict[Table, dict[str, tuple[Any, Callable[[Any], bool]]]] = {}


def _fits(column: Any) -> Callable[[Any], bool]:
    """True for values `check_value` accepts in `column` (False: let it decide)."""
    none_ok = column.nullable or column.primary_key or column.default is not None
    kind = column.type
    instant = isinstance(kind, TypeDecorator)
    if instant:
        kind = kind.impl_instance
    test = _undecided
    if isinstance(kind, Boolean):
        test = _is_bool
    elif isinstance(kind, Integer):
        test = _is_int64 if isinstance(kind, BigInteger) else _is_int32
    elif isinstance(kind, Float):
        test = _is_number
    elif isinstance(kind, Date):
        test = _is_date
    elif isinstance(kind, String):
        test = _is_text

    def fits(value: Any) -> bool:
        if value is None:
            return none_ok
        if instant and type(value) is datetime:
            return True
        return test(value)

    return fits


def _undecided(value: Any) -> bool:
    return False  # a column of another type: `check_value` decides


def _is_bool(value: Any) -> bool:
    return type(value) is bool


def _is_int32(value: Any) -> bool:
    return type(value) is int and INT32[0] <= value <= INT32[1]


def _is_int64(value: Any) -> bool:
    return type(value) is int and INT64[0] <= value <= INT64[1]


def _is_number(value: Any) -> bool:
    return math.isfinite(value) if type(value) is float else _is_int64(value)


def _is_date(value: Any) -> bool:
    return type(value) is date


def _is_text(value: Any) -> bool:
    return type(value) is str and len(value) <= MAX_TEXT and "\x00" not in value and value.isascii()
