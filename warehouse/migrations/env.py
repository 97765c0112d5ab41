"""Alembic environment: runs on the connection `warehouse.migrate` hands over."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from warehouse.migrate import declared_metadata, render_item

connection = context.config.attributes.get("connection")
target_metadata = declared_metadata()
options: dict[str, Any] = {
    "target_metadata": target_metadata,
    "render_item": render_item,
    "compare_type": True,
    "render_as_batch": True,  # SQLite alters tables by copying them
}

if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), **options)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()
else:  # `alembic revision --autogenerate` by hand: a synchronous URL in sqlalchemy.url
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "").connect() as conn:
        context.configure(connection=conn, **options)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()
