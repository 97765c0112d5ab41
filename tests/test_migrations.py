"""The Alembic migrations build exactly the schema the code declares, on either engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.databases import fresh_database
from warehouse import migrate
from warehouse.engine import create_engine

ROOT = Path(__file__).resolve().parent.parent


def _declared(metadata: MetaData) -> dict[str, Any]:
    return {
        name: (
            sorted(c.name for c in table.columns),
            sorted((i.name, tuple(c.name for c in i.columns), i.unique) for i in table.indexes),
        )
        for name, table in metadata.tables.items()
    }


def _built(conn: Connection) -> dict[str, Any]:
    found = inspect(conn)
    return {
        name: (
            sorted(c["name"] for c in found.get_columns(name)),
            sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in found.get_indexes(name)
                # PostgreSQL backs a unique constraint with an index of its own
                if not i.get("duplicates_constraint")
            ),
        )
        for name in found.get_table_names()
        if name != "alembic_version"
    }


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, migrate.declared_metadata())  # type: ignore[no-any-return]


async def _fresh(tmp_path: Path, name: str) -> AsyncEngine:
    return create_engine(await fresh_database(tmp_path, name))


async def test_migrations_build_exactly_the_declared_tables_columns_and_indexes(
    tmp_path: Path,
) -> None:
    engine = await _fresh(tmp_path, "migrated")
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            built = await conn.run_sync(_built)
            differences = await conn.run_sync(_differences)
        assert built == _declared(migrate.declared_metadata())
        assert differences == []
        assert await migrate.current(engine) == migrate.head()
    finally:
        await engine.dispose()


async def test_upgrade_twice_is_a_no_op_and_downgrade_undoes_it(tmp_path: Path) -> None:
    engine = await _fresh(tmp_path, "twice")
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        assert await migrate.current(engine) == migrate.head()
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: migrate.command.downgrade(migrate.config(c), "base"))
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(left) <= {"alembic_version"}
    finally:
        await engine.dispose()


async def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    engine = await _fresh(tmp_path, "adopted")
    try:
        # the schema `create_all` made before migrations existed is the baseline's; without the
        # version table, as such a database has none
        await migrate.upgrade(engine, migrate.BASELINE)
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE alembic_version"))
        assert await migrate.current(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current(engine) == migrate.head()
    finally:
        await engine.dispose()


async def test_demo_databases_are_migrated(small_engine: AsyncEngine) -> None:
    assert await migrate.current(small_engine) == migrate.head()


async def test_db_upgrade_command(tmp_path: Path) -> None:
    url = await fresh_database(tmp_path, "cli")
    upgrade = subprocess.run(
        [sys.executable, "-m", "gateway", "db", "upgrade", "--database", url],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"schema at revision {migrate.head()}" in upgrade.stdout
    current = subprocess.run(
        [sys.executable, "-m", "gateway", "db", "current", "--database", url],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert current.stdout.strip() == f"{migrate.head()} (up to date)"


async def test_a_table_without_migration_is_named_at_upgrade(tmp_path: Path) -> None:
    metadata = migrate.declared_metadata()
    stray = Table("stray_things", metadata, Column("stray_id", Integer, primary_key=True))
    engine = await _fresh(tmp_path, "stray")
    try:
        with pytest.raises(migrate.MissingMigration, match="stray_things"):
            await migrate.upgrade(engine)
    finally:
        metadata.remove(stray)
        await engine.dispose()
