"""Settings from the environment (and `.env`), with defaults that run on a laptop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from resolvers.context import Options
from resolvers.metrics.catalog import Thresholds

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./insights.db"


class EngineOptions(TypedDict):
    """The pool, timeout and slot knobs `warehouse.engine.create_engine` takes."""

    pool_size: int
    max_overflow: int
    statement_timeout_ms: int
    aggregate_slots: int


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
    sla_thresholds: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Per-queue SLA seconds, a JSON object {queue: seconds}; others: sla_threshold.",
    )
    short_abandon_threshold: int = Field(
        default=5, ge=0, description="Seconds in queue up to which an abandon is short."
    )
    available_activity: str = Field(default="Available", description="The available activity.")
    offline_activity: str = Field(default="Offline", description="The offline activity.")
    max_report_rows: int = Field(default=10_000, ge=1, description="Most rows of one report.")

    # --- security (README "Security") ---
    auth: Literal["on", "off"] = Field(
        default="on",
        description="`off` only works while listening on loopback: every local caller is admin.",
    )
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 secret for JWTs.")
    jwt_public_key: str | None = Field(
        default=None, description="RS256/ES256 public key for JWTs: PEM text or a path to it."
    )
    jwt_audience: str | None = Field(default=None, description="Required `aud` claim, if set.")
    jwt_issuer: str | None = Field(default=None, description="Required `iss` claim, if set.")
    jwt_leeway_seconds: int = Field(default=30, ge=0, description="Clock skew allowed on `exp`.")
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified API key is trusted without a database lookup; a "
        "revoked key stops working within this time (0: look it up on every request).",
    )
    agents_see_customer_contacts: bool = Field(
        default=False, description="Show customers' phone and e-mail to agents."
    )
    public_paths: list[str] = Field(
        default=["/healthz", "/readyz"],
        description="Paths served without authentication (the GraphiQL page and its assets are "
        "too: they hold no data).",
    )
    admin_paths: list[str] = Field(
        default=["/events", "/metrics"],
        description="Paths only admins may call (ingest, operations); others get 403.",
    )
    max_body_bytes: int = Field(default=100_000, ge=1, description="Largest request body.")
    max_events_body_bytes: int = Field(
        default=10_000_000, ge=1, description="Largest body of `POST /events` (event batches)."
    )
    max_depth: int = Field(default=12, ge=1, description="Deepest field nesting of a query.")
    max_aliases: int = Field(default=30, ge=0, description="Most aliases in one document.")
    max_tokens: int = Field(default=2_000, ge=1, description="Most tokens in one document.")
    max_cost: int = Field(
        default=100_000,
        ge=1,
        description="Largest product of page sizes along any path of a query (rows it may touch).",
    )
    max_fields: int = Field(
        default=5_000,
        ge=1,
        description="Most fields of a document once its fragments are spread (measured once per "
        "fragment, before validation).",
    )
    max_field_pairs: int = Field(
        default=5_000,
        ge=1,
        description="Most pairs of same-named fields or fragment spreads in the selection sets "
        "of a document (what validation compares to merge fields).",
    )
    max_input_depth: int = Field(
        default=32,
        ge=1,
        description="Deepest nesting of lists and objects in a JSON body, its variables and any "
        "argument value.",
    )
    max_input_values: int = Field(
        default=1_000,
        ge=1,
        description="Most scalar values one argument holds, variables included (bounds a filter "
        "before SQL is compiled).",
    )
    max_input_objects: int = Field(
        default=100,
        ge=1,
        description="Most input objects (filters and their parts, mutation inputs) in the "
        "arguments of one request, variables included.",
    )
    document_check_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Budget for parsing, measuring and validating one document (off the event "
        "loop); past it the request is refused.",
    )
    max_report_span_days: int = Field(
        default=3_660,
        ge=1,
        description="Longest time range a report, metric or drill-down grouped by time covers.",
    )
    aggregate_concurrency: int = Field(
        default=0,
        ge=0,
        description="Metric and report statements one worker runs at once (0: no limit). On "
        "PostgreSQL with no more cores than the gateway has workers, 1 keeps pages ahead of them.",
    )
    query_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Budget of one request; its SQL is cancelled after it."
    )
    introspection: bool = Field(default=True, description="Answer introspection queries.")
    allowed_operations: str | None = Field(
        default=None,
        description="Allow-list mode: a directory of .graphql documents; only those (or their "
        "sha256 hashes) are accepted.",
    )
    # --- subscriptions (README "Real time") ---
    max_subscriptions: int = Field(
        default=10_000, ge=0, description="Most open subscriptions one gateway process serves."
    )
    max_subscriptions_per_connection: int = Field(
        default=50, ge=1, description="Most operations one WebSocket connection runs at once."
    )
    subscription_coalesce_seconds: float = Field(
        default=0.1,
        ge=0.0,
        le=5.0,
        description="Least time between two computations of one subscription: a change after a "
        "quiet moment is computed at once, the changes of a burst together at this pace.",
    )
    subscription_heartbeat_seconds: float = Field(
        default=15.0, gt=0.0, le=15.0, description="Most time before a subscription is re-checked."
    )
    subscription_auth_recheck_seconds: float = Field(
        default=5.0, gt=0.0, description="How often open subscriptions check their credentials."
    )
    subscription_sharing_dir: Path | None = Field(
        default=None,
        description="A private directory shared by the gateway processes of one host: one of them "
        "computes each distinct subscription, the others relay its results (`serve --workers N` "
        "makes a fresh one for its workers).",
    )
    websocket_compression: bool = Field(
        default=False,
        description="Offer permessage-deflate on WebSocket connections. Off: each connection's "
        "compressor costs CPU on every result sent and memory per subscriber, for results of a "
        "few hundred bytes.",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Server connections kept per worker.")
    db_max_overflow: int = Field(default=10, ge=0, description="Extra connections under bursts.")
    db_statement_timeout_ms: int = Field(
        default=30_000, ge=0, description="PostgreSQL statement_timeout in ms (0: none)."
    )
    db_aggregate_slots: int = Field(
        default=0,
        ge=0,
        description="Metric and report statements running at once on the PostgreSQL database "
        "across every worker and gateway (advisory locks; 0: no limit). On a database with two "
        "cores, 1 keeps a core for pages.",
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
            "aggregate_slots": self.db_aggregate_slots,
        }

    def options(self) -> Options:
        return Options(
            timezone=ZoneInfo(self.timezone),
            default_page_size=min(self.default_page_size, self.max_page_size),
            max_page_size=self.max_page_size,
            thresholds=Thresholds(
                sla_threshold=self.sla_threshold,
                sla_thresholds=tuple(sorted(self.sla_thresholds.items())),
                short_abandon_threshold=self.short_abandon_threshold,
                available_activity=self.available_activity,
                offline_activity=self.offline_activity,
            ),
            max_report_rows=self.max_report_rows,
            coalesce_seconds=self.subscription_coalesce_seconds,
            heartbeat_seconds=self.subscription_heartbeat_seconds,
            max_report_span_days=self.max_report_span_days,
            aggregate_concurrency=self.aggregate_concurrency,
        )
