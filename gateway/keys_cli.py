"""`insights-gateway keys create|list|revoke`: manage API keys (stored hashed)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gateway.settings import Settings
from warehouse.api_keys import ROLES, create_key, list_keys, revoke_key
from warehouse.engine import create_engine

T = TypeVar("T")


def _run(args: argparse.Namespace, work: Callable[[Any], Awaitable[T]]) -> T:
    settings = Settings(**({"database_url": args.database} if args.database else {}))

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def cmd_create(args: argparse.Namespace) -> int:
    try:
        key, text = _run(
            args,
            lambda e: create_key(
                e, args.role, agent_id=args.agent_id, team_ids=tuple(args.team_id or ()),
                label=args.label,
            ),
        )  # fmt: skip
    except ValueError as error:
        print(f"insights-gateway keys create: {error}", file=sys.stderr)
        return 2
    print(f"Created key {key.key_id} ({key.role}). Store it now; it is not shown again:")
    print(text)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    keys = _run(args, list_keys)
    print("key_id        role        agent/teams                 created               status")
    for k in keys:
        who = k.agent_id or " ".join(k.team_ids) or "-"
        status = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        label = f"  {k.label}" if k.label else ""
        created = f"{k.created_at:%Y-%m-%d %H:%M}"
        print(f"{k.key_id:<13} {k.role:<11} {who:<27} {created:<21} {status}{label}")
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
    create.add_argument("--database", **database)
    create.set_defaults(run=cmd_create)

    listing = sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--database", **database)
    listing.set_defaults(run=cmd_list)

    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.add_argument("--database", **database)
    revoke.set_defaults(run=cmd_revoke)
