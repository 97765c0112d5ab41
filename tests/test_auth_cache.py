"""Verified API keys are trusted for `auth_cache_seconds` without a database lookup: requests skip
a round trip, and a revoked key stops working within that time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.settings import Settings
from tests.helpers import app_client
from warehouse.api_keys import create_key, revoke_key
from warehouse.engine import sync_engines

QUERY = {"query": "{ __typename }"}


@contextmanager
def key_lookups(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements on `api_keys` run inside the block."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "api_keys" in statement:
            seen.append(statement)

    targets = sync_engines(engine)
    for target in targets:
        event.listen(target, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", count)


async def status(c: httpx.AsyncClient, token: str) -> int:
    response = await c.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"})
    return response.status_code


def test_the_default_is_a_few_seconds() -> None:
    assert 1 <= Settings().auth_cache_seconds <= 10


async def test_a_verified_key_is_looked_up_once_while_cached(small_engine: AsyncEngine) -> None:
    _, token = await create_key(small_engine, "admin", label="cache test")
    async with app_client(small_engine, auth="on", auth_cache_seconds=60) as c:
        with key_lookups(small_engine) as lookups:
            assert [await status(c, token) for _ in range(5)] == [200] * 5
        assert len(lookups) == 1


async def test_without_the_cache_every_request_looks_the_key_up(small_engine: AsyncEngine) -> None:
    key, token = await create_key(small_engine, "admin", label="cache test")
    async with app_client(small_engine, auth="on", auth_cache_seconds=0) as c:
        with key_lookups(small_engine) as lookups:
            assert [await status(c, token) for _ in range(3)] == [200] * 3
        assert len(lookups) == 3
        assert await revoke_key(small_engine, key.key_id)
        assert await status(c, token) == 401


async def test_a_revoked_key_stops_working_within_the_cache_time(small_engine: AsyncEngine) -> None:
    key, token = await create_key(small_engine, "admin", label="cache test")
    async with app_client(small_engine, auth="on", auth_cache_seconds=0.5) as c:
        assert await status(c, token) == 200
        assert await revoke_key(small_engine, key.key_id)
        await asyncio.sleep(0.6)
        assert await status(c, token) == 401


async def test_a_revoked_key_may_work_until_its_cache_entry_expires(
    small_engine: AsyncEngine,
) -> None:
    """The trade the setting makes, shown: the lookup is skipped, so is the revocation."""
    key, token = await create_key(small_engine, "admin", label="cache test")
    async with app_client(small_engine, auth="on", auth_cache_seconds=60) as c:
        assert await status(c, token) == 200
        assert await revoke_key(small_engine, key.key_id)
        assert await status(c, token) == 200


async def test_only_the_exact_key_text_is_cached(small_engine: AsyncEngine) -> None:
    """Failures are not cached, and a wrong secret under a cached key's id is looked up (and
    refused), never answered from the cache."""
    _, token = await create_key(small_engine, "admin", label="cache test")
    async with app_client(small_engine, auth="on", auth_cache_seconds=60) as c:
        assert await status(c, token) == 200
        with key_lookups(small_engine) as lookups:
            assert await status(c, token[:-2] + "xx") == 401
            assert await status(c, token[:-2] + "xx") == 401
        assert len(lookups) == 2
