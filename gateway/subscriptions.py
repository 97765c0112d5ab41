"""Shared subscriptions: one computation per change for every subscriber of the same request.

Subscribers with the same document, variables, operation name and viewer join one *group*; the
group runs the subscription once (one async generator, so the SQL per change depends on the
number of distinct groups, not of subscribers) and hands each result that differs from the one
before to every member. Each such result is encoded to JSON once, and every member's transport
sends those same characters (a thousand subscribers of one group cost one encoding, not a
thousand). A member holds at most one undelivered result: a newer one replaces it (results are
whole pictures, so the latest is all a slow client needs), which means no subscriber, however slow
or gone, holds up the group, the others or the ingest.

Both transports (gateway/subscriptions_ws.py, gateway/subscriptions_sse.py) open subscriptions
here, so the limits (per connection and per process) and the sharing are the same for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError
from prometheus_client import Counter, Gauge
from strawberry.schema.base import BaseSchema
from strawberry.types.execution import ExecutionResult, PreExecutionError

from gateway.observability import counting_statements
from resolvers.viewer import Viewer

if TYPE_CHECKING:
    from gateway.subscription_sharing import Sharing

log = logging.getLogger("insights_gateway")

Payload = dict[str, Any]

SUBSCRIBERS = Gauge("insights_subscriptions", "Open subscriptions.", multiprocess_mode="livesum")
GROUPS = Gauge(
    "insights_subscription_groups",
    "Distinct subscriptions (document, variables, viewer) computed.",
    multiprocess_mode="livesum",
)
RELAYED = Gauge(
    "insights_subscription_relayed_groups",
    "Distinct subscriptions another gateway process computes and this one relays.",
    multiprocess_mode="livesum",
)
COMPUTATIONS = Counter(
    "insights_subscription_computations_total", "Results computed for subscription groups."
)
STATEMENTS = Counter(
    "insights_subscription_statements_total", "SQL statements subscription groups ran."
)
SENT = Counter(
    "insights_subscription_results_total", "Results handed to subscribers (after sharing)."
)


class LinkLost(Exception):
    """The connection to the process that computes a relayed subscription ended; it is opened
    again wherever the computation is now (gateway/subscription_sharing.py)."""


class LimitReached(Exception):
    """A subscription beyond a limit; the message names the limit and its setting."""


@dataclass(frozen=True)
class Key:
    """What makes two subscriptions the same computation."""

    query: str
    variables: str  # canonical JSON
    operation_name: str | None
    viewer: Viewer

    @classmethod
    def of(
        cls,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        viewer: Viewer,
    ) -> Key:
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
        return cls(query, canonical, operation_name, viewer)


def payload_of(result: ExecutionResult) -> Payload:
    """The `{data, errors, extensions}` object both transports send for a result."""
    payload: Payload = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


def encode(payload: Any) -> str:
    """The JSON both transports send: compact, UTF-8 as it is, instants as their strings."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Result:
    """One result of a group: the payload, and its JSON encoded once for every member."""

    payload: Payload
    text: str

    @classmethod
    def of(cls, payload: Payload) -> Result:
        return cls(payload, encode(payload))


@dataclass
class Subscriber:
    """One client's subscription: the latest result not yet sent, then how it ended."""

    key: Key
    counted: bool = True  # False: relayed to another process's subscribers, counted there
    group: Any = None  # the _Group it joined (a later group of the same key is another one)
    _latest: Result | None = None
    _end: list[dict[str, Any]] | None = None  # None: open; []: complete; errors: failed
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, result: Result) -> None:
        self._latest = result  # replaces one the client has not taken yet
        self._wake.set()

    def finish(self, errors: list[dict[str, Any]] | None = None) -> None:
        if self._end is None:
            self._end = errors or []
            self._wake.set()

    async def results(self) -> AsyncIterator[Result]:
        """The results to send, newest first when the client fell behind; ends with the group.

        Raises `SubscriptionFailed` when the group ended with errors (a document that does not
        validate, a limit): the transports send those as their protocol's error message.
        """
        while True:
            if self._latest is not None:
                latest, self._latest = self._latest, None
                yield latest
            elif self._end is not None:
                if self._end:
                    raise SubscriptionFailed(self._end)
                return
            else:
                await self._wake.wait()
                self._wake.clear()


class SubscriptionFailed(Exception):
    """The subscription ended with request errors (already formatted)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0].get("message", "subscription failed") if errors else "")
        self.errors = errors


@dataclass
class _Group:
    key: Key
    members: set[int] = field(default_factory=set)
    subscribers: dict[int, Subscriber] = field(default_factory=dict)
    last: Result | None = None
    task: asyncio.Task[None] | None = None
    ended: bool = False


ContextFactory = Callable[[Viewer], Any]


class Hub:
    """The process's subscription groups."""

    def __init__(
        self,
        schema: BaseSchema,
        make_context: ContextFactory,
        *,
        max_subscriptions: int,
        sharing_dir: Path | None = None,
    ) -> None:
        self.schema = schema
        self.make_context = make_context
        self.max_subscriptions = max_subscriptions
        self._groups: dict[Key, _Group] = {}
        self._count = 0
        # with a directory: the processes given it share their subscriptions (one computes)
        self.sharing: Sharing | None = None
        if sharing_dir is not None:
            from gateway.subscription_sharing import Sharing  # it builds on this module

            self.sharing = Sharing(sharing_dir, self)

    @property
    def subscriptions(self) -> int:
        return self._count

    @property
    def groups(self) -> int:
        return len(self._groups)

    def open(self, key: Key, *, counted: bool = True) -> Subscriber:
        """Join (or start) the group of `key`; the current result, if any, is offered at once.

        `counted=False`: another gateway process relays this subscription to its subscribers
        (which it counted and limited itself).
        """
        if counted and self._count >= self.max_subscriptions:
            raise LimitReached(
                f"This gateway process serves its maximum of {self.max_subscriptions} "
                "subscriptions (INSIGHTS_MAX_SUBSCRIPTIONS); try again later."
            )
        subscriber = Subscriber(key, counted=counted)
        group = self._groups.get(key)
        if group is None or group.ended:
            group = _Group(key)
            self._groups[key] = group
            group.task = asyncio.get_running_loop().create_task(self._run(group))
        group.subscribers[id(subscriber)] = subscriber
        subscriber.group = group
        if counted:
            self._count += 1
            SUBSCRIBERS.inc()
        if group.last is not None:
            subscriber.offer(group.last)
        return subscriber

    def close(self, subscriber: Subscriber) -> None:
        """Leave the group; the last one out stops its computation."""
        group = subscriber.group
        if group is None or group.subscribers.pop(id(subscriber), None) is None:
            return
        if subscriber.counted:
            self._count -= 1
            SUBSCRIBERS.dec()
        if not group.subscribers:
            self._forget(group)
            if group.task is not None:
                group.task.cancel()

    async def stop(self) -> None:
        """End every group (shutdown)."""
        if self.sharing is not None:
            # first: the processes this one computes for open their subscriptions elsewhere
            # instead of hearing them complete
            await self.sharing.stop()
        tasks = [g.task for g in self._groups.values() if g.task is not None]
        for group in list(self._groups.values()):
            for subscriber in group.subscribers.values():
                subscriber.finish()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, group: _Group) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]

    async def _run(self, group: _Group) -> None:
        errors: list[dict[str, Any]] | None = None
        try:
            errors = await self._relayed(group)
            if errors is None:
                GROUPS.inc()
                try:
                    errors = await self._compute(group)
                finally:
                    GROUPS.dec()
            errors = errors or None
        except asyncio.CancelledError:
            raise
        except SubscriptionFailed as failed:
            errors = failed.errors
        except Exception:
            log.exception("subscription failed")
            errors = [dict(GraphQLError("Internal error.").formatted)]
        finally:
            group.ended = True
            self._forget(group)
        for subscriber in list(group.subscribers.values()):
            subscriber.finish(errors)

    async def _relayed(self, group: _Group) -> list[dict[str, Any]] | None:
        """Relay the leader's results while another process leads (gateway/subscription_sharing
        .py); [] once the leader completed the subscription, None to compute it here."""
        while self.sharing is not None:
            link = await self.sharing.link()
            if link is None:
                return None  # this process leads, or no leader is reachable
            RELAYED.inc()
            try:
                async for result in link.stream(group.key):
                    self._hand_over(group, result)
                return []
            except LinkLost:
                continue  # the leader went: open it again wherever it leads now
            finally:
                RELAYED.dec()
        return None

    def _hand_over(self, group: _Group, result: Result) -> None:
        if group.last is not None and result.payload == group.last.payload:
            return  # nothing the selection shows changed
        group.last = result
        for subscriber in list(group.subscribers.values()):
            subscriber.offer(result)
        SENT.inc(len(group.subscribers))

    async def _compute(self, group: _Group) -> list[dict[str, Any]]:
        """Run the subscription here; its request errors, or [] when it completed."""
        key = group.key
        stream = await self.schema.subscribe(
            key.query,
            variable_values=json.loads(key.variables),
            context_value=self.make_context(key.viewer),
            operation_name=key.operation_name,
        )
        iterator = aiter(stream)  # type: ignore[arg-type]
        async with contextlib.aclosing(iterator):  # type: ignore[type-var]
            while True:
                with counting_statements() as counted:
                    try:
                        result = await anext(iterator)
                    except StopAsyncIteration:
                        return []
                COMPUTATIONS.inc()
                STATEMENTS.inc(counted[0])
                if isinstance(result, PreExecutionError):
                    return [dict(e.formatted) for e in result.errors or []]
                payload = payload_of(result)
                if group.last is not None and payload == group.last.payload:
                    continue  # nothing the selection shows changed (no encoding)
                self._hand_over(group, Result.of(payload))
