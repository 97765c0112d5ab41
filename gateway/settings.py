"""Settings from the environment (and `.env`), with defaults that run on a laptop."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from resolvers.context import Options
from resolvers.metrics.catalog import Thresholds

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./insights.db"


class Settings(BaseSettings):
    """Every knob of the gateway; environment variables are `INSIGHTS_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="INSIGHTS_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "INSIGHTS_DATABASE_URL"),
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or postgresql+asyncpg://…",
    )
    timezone: str = Field(default="UTC", description="Workspace time zone for date buckets.")
    default_page_size: int = Field(default=50, ge=1, description="`first`/`last` when omitted.")
    max_page_size: int = Field(default=100, ge=1, description="Largest `first`/`last` allowed.")
    graphiql: bool = Field(default=True, description="Serve GraphiQL on GET /graphql.")
    # metric thresholds (METRICS.md); `Metrics` fields may override them per query
    sla_threshold: int = Field(default=60, ge=0, description="Seconds in queue within the SLA.")
    short_abandon_threshold: int = Field(
        default=5, ge=0, description="Seconds in queue up to which an abandon is short."
    )
    available_activity: str = Field(default="Available", description="The available activity.")
    offline_activity: str = Field(default="Offline", description="The offline activity.")
    max_report_rows: int = Field(default=10_000, ge=1, description="Most rows of one report.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    def options(self) -> Options:
        return Options(
            timezone=ZoneInfo(self.timezone),
            default_page_size=min(self.default_page_size, self.max_page_size),
            max_page_size=self.max_page_size,
            thresholds=Thresholds(
                sla_threshold=self.sla_threshold,
                short_abandon_threshold=self.short_abandon_threshold,
                available_activity=self.available_activity,
                offline_activity=self.offline_activity,
            ),
            max_report_rows=self.max_report_rows,
        )
