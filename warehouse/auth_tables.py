"""The table authentication keeps: API keys (hashed), beside the warehouse's own tables."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from warehouse.tables import metadata
from warehouse.types import EpochSeconds

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String, primary_key=True),
    Column("secret_sha256", String, nullable=False),
    Column("role", String, nullable=False),
    Column("agent_id", String),
    # space-separated team ids of a supervisor key
    Column("team_ids", String, nullable=False, default=""),
    Column("label", String),
    Column("created_at", EpochSeconds, nullable=False),
    Column("revoked_at", EpochSeconds),
)
