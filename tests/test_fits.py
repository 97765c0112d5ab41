"""The ingest's checks, made cheap, refuse what they refused.

`check_row`'s plain tests per column accept exactly what `check_value` accepts.

Ingest offers every derived value to its column's plain test first (`warehouse/fits.py: _fits`)
and sends only what fails it to `check_value`; a test that accepted more would let a misfit
reach the database and fail a whole batch's statement. Generated values of every kind, against
every column of every warehouse table. Attribute texts that passed their check are not checked
again.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse import tables as t
from warehouse.event_models import REMEMBERED_TEXT_LENGTH, REMEMBERED_TEXTS, _checked
from warehouse.fits import MAX_TEXT, Misfit, check_row, check_value

COLUMNS = [(table, column) for table in t.metadata.sorted_tables for column in table.columns]

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.text(),
    st.text(alphabet=st.characters(codec=None)),  # lone surrogates among them
    st.sampled_from(["a\x00b", "é", "\ud800", "x" * MAX_TEXT, "x" * (MAX_TEXT + 1)]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def outcome(check: Any) -> str | None:
    try:
        check()
    except Misfit as error:
        return str(error)
    return None


@settings(max_examples=400, deadline=None)
@given(where=st.sampled_from(COLUMNS), value=VALUES)
def test_check_row_refuses_what_check_value_refuses(where: tuple[Any, Any], value: Any) -> None:
    table, column = where
    slow = outcome(lambda: check_value(f"row {column.name}", column, value))
    assert outcome(lambda: check_row(table, {column.name: value}, "row")) == slow


@pytest.mark.parametrize(
    ("column", "value"),
    [
        (t.segments.c.talk_time, 2**31),  # Integer: 32 bits
        (t.segments.c.talk_time, True),
        (t.segments.c.queue, "a\x00b"),
        (t.segments.c.queue, "\ud800"),
        (t.segments.c.queue, 3),
        (t.segments.c.started_at, "2026-01-01"),  # an instant's column wants an instant
        (t.segments.c.kind, None),  # required
    ],
)
def test_misfits_are_named(column: Any, value: Any) -> None:
    """Guards the property above against both sides accepting everything."""
    with pytest.raises(Misfit, match=f"row {column.name}"):
        check_row(column.table, {column.name: value}, "row")


def test_attribute_texts_that_passed_are_not_checked_again() -> None:
    """TaskRouter repeats a task's attributes on each of its events: a text that passed is not
    checked again (bounded), one that failed is refused every time."""
    checked: list[dict[str, Any]] = []

    def check(attributes: dict[str, Any]) -> None:
        checked.append(attributes)
        if attributes.get("bad"):
            raise Misfit("TaskAttributes bad is bad")

    validate = _checked(check)
    good, bad = json.dumps({"a": 1}), json.dumps({"bad": True})
    assert validate(good) == validate(good) == {"a": 1}
    assert len(checked) == 1
    for _ in range(2):
        with pytest.raises(ValueError, match="bad is bad"):
            validate(bad)
    assert len(checked) == 3
    validate({"a": 1})  # an object, not a text: checked every time
    validate({"a": 1})
    long = json.dumps({"a": "x" * REMEMBERED_TEXT_LENGTH})
    validate(long)
    validate(long)
    assert len(checked) == 7
    for n in range(REMEMBERED_TEXTS):  # the first text is forgotten, not the memory grown
        validate(json.dumps({"n": n}))
    validate(good)
    assert len(checked) == 7 + REMEMBERED_TEXTS + 1
