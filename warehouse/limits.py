"""What the databases say when a statement is beyond their limits (a request too big, not a fault).

The GraphQL layer reports such a refusal as `QUERY_TOO_COMPLEX` (`schema/masking.py`); a page
answered as JSON that is refused reads its rows as objects instead (`resolvers/pages.py`), and a
document answered whole that is refused stays on the GraphQL path (`schema/whole_answers.py`).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from warehouse.direct_reads import DirectReadError

# what SQLite says when a statement is beyond its compile-time limits
_SQLITE_LIMITS = (
    "expression tree is too large",
    "too many terms",
    "too many sql variables",
    "parser stack overflow",
    "too many arguments on function",
    "too many columns",
    "pattern too complex",
    "string or blob too big",
)


def beyond_engine_limits(error: BaseException | None) -> bool:
    """The database refused the statement for its size (a client's request, not a fault):
    SQLite's compile limits, PostgreSQL's `program_limit_exceeded` (SQLSTATE class 54), asyncpg's
    bound on query arguments; through SQLAlchemy or the direct reader."""
    cause: BaseException | None
    if isinstance(error, DBAPIError):
        cause = error.orig
    elif isinstance(error, DirectReadError):  # the driver's own error, past SQLAlchemy
        cause = error.__cause__
    else:
        return False
    states = {
        getattr(cause, "sqlstate", None),
        getattr(cause and cause.__cause__, "sqlstate", None),
    }
    if any(isinstance(s, str) and s.startswith("54") for s in states):
        return True
    text = str(cause).lower()
    return any(limit in text for limit in _SQLITE_LIMITS) or "query arguments cannot exceed" in text
