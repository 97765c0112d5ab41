"""A statement the database refuses for its size is told apart from a fault, whichever way it
was sent: through SQLAlchemy or on the direct reader (PostgreSQL's whole answers)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from warehouse.direct_reads import DirectReadError
from warehouse.limits import beyond_engine_limits


def direct(cause: BaseException) -> DirectReadError:
    try:
        raise DirectReadError(str(cause)) from cause
    except DirectReadError as error:
        return error


@pytest.mark.parametrize(
    ("cause", "beyond"),
    [
        (asyncpg.exceptions.StatementTooComplexError("stack depth limit exceeded"), True),
        (asyncpg.exceptions.ProgramLimitExceededError("target lists can have at most 1664"), True),
        (asyncpg.exceptions.UndefinedColumnError("column x does not exist"), False),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), False),
        (OSError("connection reset"), False),
    ],
)
def test_the_direct_readers_refusals_for_size_are_limits(
    cause: BaseException, beyond: bool
) -> None:
    assert beyond_engine_limits(direct(cause)) is beyond
    wrapped = DBAPIError("SELECT", {}, cause)
    assert beyond_engine_limits(wrapped) is beyond


def test_other_errors_are_not_limits() -> None:
    assert not beyond_engine_limits(ValueError("parser stack overflow"))
    assert not beyond_engine_limits(None)
