"""Per-request state: the engine, the serving options resolvers need, and the request's loaders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.metrics.catalog import Thresholds
from resolvers.viewer import Viewer
from warehouse.changes import ChangeFeed

if TYPE_CHECKING:
    from resolvers.live_pictures import LivePictures

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """What resolvers need to know of the settings (resolvers never read the environment)."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    default_page_size: int = 50
    max_page_size: int = 100
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_report_rows: int = 10_000
    max_report_span_days: int = 3_660  # time buckets are computed for every day of the span
    # what "now" is for the live picture (`realtime`); tests pin it to their scripted day
    clock: Callable[[], float] = field(default_factory=lambda: time.time, compare=False)
    # live subscriptions: the least time between two computations of one subscription (the first
    # change after a quiet moment is computed at once), and the most time between two
    coalesce_seconds: float = 0.1
    heartbeat_seconds: float = 15.0
    # pages whose rows the database can answer as JSON do (`resolvers/json_rows.py`); tests
    # switch it off to compare with the object path
    json_rows: bool = True
    # aggregate (metric and report) statements one process runs at once (0: no limit;
    # `resolvers/cancel.py: aggregate_turn`)
    aggregate_concurrency: int = 0


@dataclass
class Context:
    """Strawberry's context value: one per request, so loader caches never leak across requests."""

    engine: AsyncEngine
    # who asks: every page, lookup and metric restricts its rows to what this viewer may see;
    # required, never defaulted, so a context built without one fails instead of seeing all
    viewer: Viewer
    options: Options = field(default_factory=Options)
    request_id: str = ""
    # the warehouse's commits, for subscriptions (None: not served, subscriptions emit once)
    changes: ChangeFeed | None = None
    # set by the gateway's executor (`schema/executor.py`), which completes rows the database
    # answered as JSON; graphql-core's own executor cannot, so pages answer it with objects
    takes_json_rows: bool = False
    # the GraphQL schema it runs and the operation's variable values (graphql-core's
    # `VariableValues`) as plans see them, for the arguments of nested connections and date
    # dimensions answered as JSON
    graphql_schema: Any = None
    variables: Any = None
    # the values of the variables those plans hold as bind parameters, bound at every read
    # (`schema/variable_binds.py`)
    bound_values: dict[str, Any] = field(default_factory=dict)
    # the process's live pictures, which `realtime` subscriptions share (None: not served)
    live_pictures: LivePictures | None = None
    _loaders: dict[Any, Any] = field(default_factory=dict)

    _running: set[asyncio.Task[Any]] = field(default_factory=set)

    async def track(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a statement so this request can cancel it, wherever it started.

        Loaders run their batches in tasks of their own, which a timeout of the request's task
        would not reach; `cancel_running` cancels the tasks running a statement right now.
        """
        task = asyncio.current_task()
        if task is None:  # not in a task (never so under a server): nothing else can cancel it
            return await work
        self._running.add(task)
        try:
            return await work
        finally:
            self._running.discard(task)

    async def cancel_running(self) -> None:
        """Cancel every statement of this request still running, and wait until they stopped."""
        current = asyncio.current_task()
        tasks = [task for task in self._running if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def loader(self, key: Any, factory: Callable[[], T]) -> T:
        """The request's loader for `key`, created on first use."""
        if key not in self._loaders:
            self._loaders[key] = factory()
        return self._loaders[key]  # type: ignore[no-any-return]

    def clear_loaders(self) -> None:
        """Forget every loaded value: a subscription's next result reads the warehouse anew."""
        self._loaders.clear()
