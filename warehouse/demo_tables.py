"""What the demo generator records about the demo it wrote, so a later run can tell it is current.

`insights-gateway demo --refresh` (what `make run` uses) compares these parameters and the demo's
end with what it is asked for, and keeps the database or builds it anew.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from warehouse.tables import metadata
from warehouse.types import EpochSeconds

demo_runs = Table(
    "demo_runs",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),  # the generator's DEMO_VERSION
    Column("seed", Integer, nullable=False),
    Column("segments", Integer, nullable=False),  # the target asked for
    Column("days", Integer, nullable=False),
    Column("time_zone", String, nullable=False),
    Column("ended_at", EpochSeconds, nullable=False),  # the demo's "now"
    Column("built_at", EpochSeconds, nullable=False),
)
