"""Helpers for tests: raw SQL reads to compare the API against, naming conversions, and the
gateway over in-process HTTP."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.settings import Settings
from resolvers.entities import ENTITIES
from resolvers.ids import encode_global_id


def app_client(
    engine: AsyncEngine, address: str = "127.0.0.1", **settings: Any
) -> httpx.AsyncClient:
    """The gateway over in-process HTTP (no socket), called from `address`; `async with` it."""
    app = create_app(Settings(**settings), engine=engine)
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z0-9])", "_", name).lower().replace("_1_0", "_10")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(text(sql), params)
        return [dict(r) for r in result.mappings()]


async def table_rows(engine: AsyncEngine, entity: str) -> list[dict[str, Any]]:
    """Every row of an entity's table, with the table's own type conversions applied."""
    async with engine.connect() as conn:
        result = await conn.execute(select(ENTITIES[entity].table))
        return [dict(r) for r in result.mappings()]


def as_json(value: Any) -> Any:
    """A stored value as the API prints it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def gid(type_name: str, key: str) -> str:
    return encode_global_id(type_name, key)
