"""The one line the command line prints for a failure, instead of a traceback.

A mistake (a bad setting, URL, revision or argument, a database that is missing or cannot be
reached) is named in words the user can act on, with exit status 2. Anything else is a fault of
ours: still one line (its type and message) and status 1, with `INSIGHTS_TRACEBACK=1` to see the
traceback when reporting it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import NoReturn

MISTAKE = 2
FAULT = 1
INTERRUPTED = 130
TRACEBACK_VARIABLE = "INSIGHTS_TRACEBACK"


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage mistake as one line (the usage block is what `--help` is for)."""

    def error(self, message: str) -> NoReturn:
        self.exit(MISTAKE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def one_line(text: object) -> str:
    """`text` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(str(text).split())


def describe(error: BaseException) -> tuple[str, int]:
    """What to print for `error` (after `insights-gateway COMMAND: `) and the exit status."""
    from alembic.util import CommandError
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from gateway.dbcommands import CommandProblem
    from warehouse.migrate import MissingMigration

    # Ctrl-C inside asyncio.run can surface as CancelledError (when the interrupted task had
    # been cancelled once already), not as KeyboardInterrupt
    if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
        return "interrupted", INTERRUPTED
    if isinstance(error, CommandProblem):
        return one_line(error), MISTAKE
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        return f"bad setting: {one_line(problems)}", MISTAKE
    if isinstance(error, (ArgumentError, NoSuchModuleError)):
        return f"bad database URL: {one_line(error)}", MISTAKE
    if isinstance(error, DBAPIError):
        return f"database error: {one_line(error.orig)}", MISTAKE
    if isinstance(error, CommandError | MissingMigration):
        return f"migration error: {one_line(error)}", MISTAKE
    if _is_server_answer(error):
        return f"database error: {one_line(error)}", MISTAKE
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or one_line(error)}: {error.filename}", MISTAKE
    if isinstance(error, OSError):  # refused, no such host or socket, timed out: connecting
        return f"cannot reach the database: {one_line(error) or type(error).__name__}", MISTAKE
    hint = f"{TRACEBACK_VARIABLE}=1 shows the traceback"
    return f"unexpected {type(error).__name__}: {one_line(error)} ({hint})", FAULT


def _is_server_answer(error: BaseException) -> bool:
    """An error PostgreSQL sent while connecting (wrong password, no such database, ...)."""
    try:
        from asyncpg import PostgresError
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(error, PostgresError)


def wants_traceback() -> bool:
    """`INSIGHTS_TRACEBACK=1`: let errors through with their traceback (for bug reports)."""
    return bool(os.environ.get(TRACEBACK_VARIABLE))


def report(command: str, error: BaseException) -> int:
    """Print `error` as one line on stderr; the exit status."""
    line, status = describe(error)
    print(f"insights-gateway {command}: {line}", file=sys.stderr)
    return status
