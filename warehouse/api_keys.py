"""API keys: long-lived credentials for services, stored as hashes, listable and revocable.

A key reads `igk_<keyId>_<secret>`. Only a SHA-256 of the secret is stored: the secret is 256 random
bits, so a fast hash is as safe as a slow one here (no dictionary to try) and checking a request
costs one indexed lookup. The key itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.auth_tables import api_keys
from warehouse.tables import agents, teams

PREFIX = "igk_"
ROLES = ("admin", "supervisor", "agent")


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    key_id: str
    role: str
    agent_id: str | None
    team_ids: tuple[str, ...]
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _from_row(row: object) -> ApiKey:
    r = row._mapping  # type: ignore[attr-defined]
    return ApiKey(
        r["key_id"], r["role"], r["agent_id"], tuple(r["team_ids"].split()), r["label"],
        r["created_at"], r["revoked_at"],
    )  # fmt: skip


async def ensure_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(api_keys.create, checkfirst=True)


def check_request(role: str, agent_id: str | None, team_ids: tuple[str, ...]) -> None:
    """Raise ValueError naming what is wrong with a key's role and scope."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if role == "agent" and not agent_id:
        raise ValueError("an agent key needs --agent-id")
    if role == "supervisor" and not team_ids:
        raise ValueError("a supervisor key needs at least one --team-id")
    if role != "agent" and agent_id:
        raise ValueError("--agent-id is only for agent keys")
    if role != "supervisor" and team_ids:
        raise ValueError("--team-id is only for supervisor keys")
    if any(" " in team or not team for team in team_ids):
        raise ValueError("team ids cannot be empty or contain spaces")


async def create_key(
    engine: AsyncEngine,
    role: str,
    *,
    agent_id: str | None = None,
    team_ids: tuple[str, ...] = (),
    label: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns it and the full key text (shown once, never stored)."""
    check_request(role, agent_id, team_ids)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC).replace(microsecond=0)
    await ensure_table(engine)
    async with engine.begin() as conn:
        await conn.execute(
            api_keys.insert().values(
                key_id=key_id, secret_sha256=_digest(secret), role=role, agent_id=agent_id,
                team_ids=" ".join(team_ids), label=label, created_at=now,
            )
        )  # fmt: skip
    key = ApiKey(key_id, role, agent_id, team_ids, label, now, None)
    return key, f"{PREFIX}{key_id}_{secret}"


async def unknown_subjects(
    engine: AsyncEngine, agent_id: str | None, team_ids: tuple[str, ...]
) -> list[str]:
    """The agent and teams a key would speak for that the warehouse does not have ("team 'T9'").

    A key for a mistyped id would be valid and see nothing, so `keys create` refuses one.
    """
    async with engine.connect() as conn:
        missing = []
        if agent_id is not None:
            query = select(agents.c.agent_id).where(agents.c.agent_id == agent_id)
            if await conn.scalar(query) is None:
                missing.append(f"agent {agent_id!r}")
        if team_ids:
            rows = await conn.execute(select(teams.c.team_id).where(teams.c.team_id.in_(team_ids)))
            known = set(rows.scalars())
            missing += [f"team {t!r}" for t in team_ids if t not in known]
        return missing


async def list_keys(engine: AsyncEngine) -> list[ApiKey]:
    await ensure_table(engine)
    async with engine.connect() as conn:
        result = await conn.execute(select(api_keys).order_by(api_keys.c.created_at))
        return [_from_row(r) for r in result]


async def revoke_key(engine: AsyncEngine, key_id: str) -> bool:
    """Mark a key revoked; False when no such active key exists."""
    await ensure_table(engine)
    async with engine.begin() as conn:
        result = await conn.execute(
            update(api_keys)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC).replace(microsecond=0))
        )
        return bool(result.rowcount)


async def verify_key(engine: AsyncEngine, text: str) -> ApiKey | None:
    """The active key whose full text is `text`, or None (unknown, revoked or wrong secret)."""
    if not text.startswith(PREFIX):
        return None
    key_id, sep, secret = text[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    async with engine.connect() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.key_id == key_id))).first()
    if row is None or row._mapping["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row._mapping["secret_sha256"], _digest(secret)):
        return None
    return _from_row(row)
