"""Helpers for tests: raw SQL reads to compare the API against, and naming conversions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.entities import ENTITIES
from resolvers.ids import encode_global_id


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
