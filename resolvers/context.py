"""Per-request state: the engine, the serving options resolvers need, and the request's loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.metrics.catalog import Thresholds

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """What resolvers need to know of the settings (resolvers never read the environment)."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    default_page_size: int = 50
    max_page_size: int = 100
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_report_rows: int = 10_000


@dataclass
class Context:
    """Strawberry's context value: one per request, so loader caches never leak across requests."""

    engine: AsyncEngine
    options: Options = field(default_factory=Options)
    _loaders: dict[Any, Any] = field(default_factory=dict)

    def loader(self, key: Any, factory: Callable[[], T]) -> T:
        """The request's loader for `key`, created on first use."""
        if key not in self._loaders:
            self._loaders[key] = factory()
        return self._loaders[key]  # type: ignore[no-any-return]
