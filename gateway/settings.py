"""Settings from the environment (and `.env`), with defaults that run on a laptop."""

from __future__ import annotations

from typing import TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from resolvers.context import Options

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./insights.db"


class EngineOptions(TypedDict):
    """The pool and timeout knobs `warehouse.engine.create_engine` takes."""

    pool_size: int
    max_overflow: int
    statement_timeout_ms: int


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
    db_pool_size: int = Field(default=10, ge=1, description="Server connections kept per worker.")
    db_max_overflow: int = Field(default=10, ge=0, description="Extra connections under bursts.")
    db_statement_timeout_ms: int = Field(
        default=30_000, ge=0, description="PostgreSQL statement_timeout in ms (0: none)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    def engine_options(self) -> EngineOptions:
        """Keyword arguments for `warehouse.engine.create_engine`."""
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "statement_timeout_ms": self.db_statement_timeout_ms,
        }

    def options(self) -> Options:
        return Options(
            timezone=ZoneInfo(self.timezone),
            default_page_size=min(self.default_page_size, self.max_page_size),
            max_page_size=self.max_page_size,
        )
