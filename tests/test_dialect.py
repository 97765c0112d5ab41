"""The engine-specific helpers behave the same on SQLite and PostgreSQL (whichever the suite runs on)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.databases import engine_name, fresh_database
from warehouse.dialect import count_distinct, dialect_name, upsert
from warehouse.engine import create_engine

scratch = MetaData()
items = Table(
    "items",
    scratch,
    Column("key", String, primary_key=True),
    Column("label", String),
    Column("hits", Integer),
)


async def test_upsert_inserts_then_updates_and_do_nothing_keeps(tmp_path: Path) -> None:
    engine = create_engine(await fresh_database(tmp_path, "upsert"))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(scratch.create_all)
            name = dialect_name(conn)
            assert name == engine_name()
            await conn.execute(
                upsert(name, items, ["key"]),
                [{"key": "a", "label": "first", "hits": 1}, {"key": "b", "label": "b", "hits": 1}],
            )
            await conn.execute(
                upsert(name, items, ["key"]), [{"key": "a", "label": "second", "hits": 2}]
            )
            await conn.execute(
                upsert(name, items, ["key"], update=[]),
                [{"key": "b", "label": "ignored", "hits": 9}],
            )
            await conn.execute(
                upsert(name, items, ["key"], update=["hits"]),
                [{"key": "c", "label": "c", "hits": 3}, {"key": "a", "label": "no", "hits": 5}],
            )
            found = (await conn.execute(select(items).order_by(items.c.key))).all()
        assert [tuple(r) for r in found] == [("a", "second", 5), ("b", "b", 1), ("c", "c", 3)]
    finally:
        await engine.dispose()


async def test_count_distinct_ignores_nulls(tmp_path: Path) -> None:
    engine = create_engine(await fresh_database(tmp_path, "distinct"))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(scratch.create_all)
            await conn.execute(
                items.insert(),
                [
                    {"key": "a", "label": "x", "hits": 1},
                    {"key": "b", "label": "x", "hits": 2},
                    {"key": "c", "label": None, "hits": 3},
                    {"key": "d", "label": "y", "hits": 4},
                ],
            )
            count = (await conn.execute(select(count_distinct(items.c.label)))).scalar_one()
        assert count == 2
    finally:
        await engine.dispose()


async def test_demo_databases_run_on_the_configured_engine(small_engine: AsyncEngine) -> None:
    assert small_engine.dialect.name == engine_name()
