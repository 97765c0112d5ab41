"""Alembic migrations of the warehouse schema, run from code (no alembic.ini to find).

`upgrade` is the one way tables come to exist: `insights-gateway db upgrade`, `serve` (before it
starts its workers) and `demo` all call it. It runs inside one transaction on a connection the
caller's engine gives (on PostgreSQL under an advisory lock, so two processes upgrading at once
queue instead of racing), which also lets it run inside an event loop. A database made by the
foundation's `create_all`, before migrations existed, is adopted: stamped at the baseline
revision, then upgraded.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import warehouse
from warehouse.tables import metadata

BASELINE = "0001"  # the schema `create_all` made before migrations existed
_LOCK_ID = 0x1A5C_6A7E  # pg_advisory_xact_lock key for schema upgrades


class MissingMigration(RuntimeError):
    """The code declares a table that the migrations at head do not create."""


def declared_metadata() -> MetaData:
    """The `MetaData` with every table the code declares (each `warehouse/*tables.py` module)."""
    for module in pkgutil.iter_modules(warehouse.__path__):
        if module.name.endswith("tables"):
            importlib.import_module(f"warehouse.{module.name}")
    return metadata


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision the code ships."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def _upgrade_sync(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    cfg = config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "segments" in tables:
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, revision)
    if revision == "head":
        missing = sorted(
            set(declared_metadata().tables) - set(inspect(connection).get_table_names())
        )
        if missing:
            raise MissingMigration(
                f"Tables {', '.join(missing)} are declared in code but no migration creates them:"
                ' write one with `insights-gateway db revision -m "..."` (see README).'
            )


def _current_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Create or upgrade the warehouse schema to `revision`."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_sync, revision)


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current_sync)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types as their plain SQL type, so migrations never import app code."""
    from sqlalchemy.types import TypeDecorator

    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _revision_sync(connection: Connection, message: str, rev_id: str | None) -> None:
    command.revision(config(connection), message=message, autogenerate=True, rev_id=rev_id)


async def revision(engine: AsyncEngine, message: str, rev_id: str | None = None) -> None:
    """Write a new migration with what `metadata` declares beyond the database (at head)."""
    async with engine.connect() as conn:
        await conn.run_sync(_revision_sync, message, rev_id)
