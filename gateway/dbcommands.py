"""`insights-gateway db …`: upgrade the warehouse schema, show its revision, write a migration."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.preflight import missing_database
from warehouse import migrate
from warehouse.engine import create_engine


class CommandProblem(Exception):
    """A mistake a `db` command found before touching the database; its text is the one line."""


def safe_url(url: str) -> str:
    """The URL with its password masked, for printing."""
    return make_url(url).render_as_string(hide_password=True)


def _with_engine(url: str, work: Callable[[AsyncEngine], Awaitable[None]]) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await work(engine)
        except Exception:
            # a failed aiosqlite connect still hands its worker thread's last result to this
            # loop; closing the loop first makes that thread print a traceback (seen under load)
            await asyncio.sleep(0.2)
            raise
        finally:
            await engine.dispose()

    asyncio.run(run())


def check_revision(revision: str) -> None:
    """Refuse a revision the migrations do not have before connecting (and creating a file)."""
    if revision in ("head", "heads"):
        return
    try:
        found = ScriptDirectory.from_config(migrate.config()).get_revisions(revision)
    except CommandError:
        found = ()
    if not found:
        raise CommandProblem(f"unknown revision {revision!r} (the newest is {migrate.head()})")


def require_database(url: str) -> None:
    """Refuse a SQLite path with no file behind it, rather than create an empty database there."""
    problem = missing_database(url)
    if problem is not None:
        raise CommandProblem(problem)


def check_reachable(url: str) -> None:
    """Connect once (and read the revision), so an unreachable database fails now, not later."""
    require_database(url)

    async def work(engine: AsyncEngine) -> None:
        await migrate.current(engine)

    _with_engine(url, work)


def cmd_upgrade(url: str, args: argparse.Namespace) -> int:
    check_revision(args.revision)

    async def work(engine: AsyncEngine) -> None:
        await migrate.upgrade(engine, args.revision)
        print(f"{safe_url(url)}: schema at revision {await migrate.current(engine)}")

    _with_engine(url, work)
    return 0


def cmd_current(url: str, _: argparse.Namespace) -> int:
    require_database(url)

    async def work(engine: AsyncEngine) -> None:
        revision = await migrate.current(engine)
        status = "up to date" if revision == migrate.head() else f"head is {migrate.head()}"
        print(f"{revision or 'not migrated'} ({status})")

    _with_engine(url, work)
    return 0


def cmd_revision(url: str, args: argparse.Namespace) -> int:
    async def work(engine: AsyncEngine) -> None:
        # "heads": the last migration written, without the check for tables none creates yet
        # (the very tables this new revision is about)
        await migrate.upgrade(engine, "heads")
        await migrate.revision(engine, args.message, args.rev_id)

    _with_engine(url, work)
    return 0


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    db = commands.add_parser("db", help="warehouse schema migrations (Alembic)")
    actions = db.add_subparsers(dest="action", required=True)
    up = actions.add_parser("upgrade", help="create or upgrade the schema")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    up.set_defaults(db_run=cmd_upgrade)
    cur = actions.add_parser("current", help="print the database's schema revision")
    cur.set_defaults(db_run=cmd_current)
    rev = actions.add_parser(
        "revision", help="autogenerate a migration from the code's tables (developers)"
    )
    rev.add_argument("-m", "--message", required=True, help="what the migration does")
    rev.add_argument("--rev-id", help="revision id (default: random)")
    rev.set_defaults(db_run=cmd_revision)
    for sub in (up, cur, rev):
        sub.add_argument("--database", help="database URL (default: $DATABASE_URL)")
    return db
