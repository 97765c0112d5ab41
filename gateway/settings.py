"""Settings from the environment (and `.env`), with defaults that run on a laptop."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from resolvers.context import Options

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
        )
