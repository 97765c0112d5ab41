"""An admin API key for a benchmark run: benchmarks call the gateway as production does, with
authentication on and a token (so its check is in every measured request)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from warehouse.api_keys import create_key, revoke_key
from warehouse.engine import create_engine


async def _create(url: str, label: str) -> tuple[str, str]:
    engine = create_engine(url)
    try:
        key, text = await create_key(engine, "admin", label=label)
        return key.key_id, text
    finally:
        await engine.dispose()


async def _revoke(url: str, key_id: str) -> None:
    engine = create_engine(url)
    try:
        await revoke_key(engine, key_id)
    finally:
        await engine.dispose()


@contextmanager
def bench_key(url: str, label: str) -> Iterator[str]:
    """The text of a new admin key on `url`'s database, revoked when the block ends.
    Call it outside a running event loop."""
    key_id, text = asyncio.run(_create(url, label))
    try:
        yield text
    finally:
        asyncio.run(_revoke(url, key_id))
