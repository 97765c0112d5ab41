"""`insights-gateway keys create|list|revoke`: manage API keys (stored hashed)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gateway.dbcommands import CommandProblem, require_database
from gateway.settings import Settings
from warehouse.api_keys import (
    ROLES,
    ApiKey,
    check_request,
    create_key,
    list_keys,
    revoke_key,
    unknown_subjects,
)
from warehouse.engine import create_engine

T = TypeVar("T")


def _run(args: argparse.Namespace, work: Callable[[Any], Awaitable[T]]) -> T:
    settings = Settings(**({"database_url": args.database} if args.database else {}))
    require_database(settings.database_url)  # a mistyped path must not become a new database

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def cmd_create(args: argparse.Namespace) -> int:
    team_ids = tuple(args.team_id or ())
    try:
        check_request(args.role, args.agent_id, team_ids)
    except ValueError as error:
        print(f"insights-gateway keys create: {error}", file=sys.stderr)
        return 2

    async def work(engine: Any) -> tuple[ApiKey, str]:
        if not args.allow_unknown:
            missing = await unknown_subjects(engine, args.agent_id, team_ids)
            if missing:
                raise CommandProblem(
                    f"no {', '.join(missing)} in the warehouse (a typo makes a key that sees "
                    "nothing); --allow-unknown creates it anyway, for data still to arrive"
                )
        return await create_key(
            engine, args.role, agent_id=args.agent_id, team_ids=team_ids, label=args.label
        )

    key, text = _run(args, work)
    print(f"Created key {key.key_id} ({key.role}). Store it now; it is not shown again:")
    print(text)
    return 0


HEADERS = ("KEY ID", "ROLE", "AGENT/TEAMS", "CREATED (UTC)", "STATUS", "LABEL")


def key_row(key: ApiKey) -> tuple[str, ...]:
    """One key as the cells of `keys list`."""
    status = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    who = key.agent_id or " ".join(key.team_ids) or "-"
    return key.key_id, key.role, who, f"{key.created_at:%Y-%m-%d %H:%M}", status, key.label or ""


def table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Lines of a plain-text table, each column as wide as its widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]


def cmd_list(args: argparse.Namespace) -> int:
    keys = _run(args, list_keys)
    if not keys:
        print("No API keys yet: `insights-gateway keys create --role ...` makes one.")
        return 0
    print("\n".join(table(HEADERS, [key_row(k) for k in keys])))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    if not _run(args, lambda e: revoke_key(e, args.key_id)):
        print(f"insights-gateway keys revoke: no active key {args.key_id!r}", file=sys.stderr)
        return 2
    print(f"Revoked key {args.key_id}.")
    return 0


def add_keys_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    database = {"help": "database URL (default: $DATABASE_URL or ./insights.db)"}

    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--agent-id", help="the agent an agent key speaks for")
    create.add_argument("--team-id", action="append", help="a team of a supervisor (repeatable)")
    create.add_argument("--label", help="what the key is for")
    create.add_argument(
        "--allow-unknown",
        action="store_true",
        help="accept an agent or team id the warehouse does not have yet (data still to come)",
    )
    create.add_argument("--database", **database)
    create.set_defaults(run=cmd_create)

    listing = sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--database", **database)
    listing.set_defaults(run=cmd_list)

    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.add_argument("--database", **database)
    revoke.set_defaults(run=cmd_revoke)
