"""Metric and report statements take turns when `INSIGHTS_AGGREGATE_CONCURRENCY` limits them.

PostgreSQL has no priority per statement, so a worker may keep pages ahead of aggregates by
running one aggregate at a time (`resolvers/cancel.py: aggregate_turn`). These tests hold a
worker's only turn and check that reports, metrics and dashboards answered whole wait for it
while pages do not, on the suite's database.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.settings import Settings
from resolvers.cancel import aggregate_reads, aggregate_turn, urgent_reads
from resolvers.context import Context
from schema.whole_answers import WholeAnswers
from tests.conftest import SCHEMA, Gateway

REPORT = """{ report(groupBy: [QUEUE], first: 5) {
  rows { key { queue } metrics { queueSegments } } total { queueSegments } } }"""
METRICS = "{ queues(first: 5) { nodes { name metrics { conversations } } } }"
PAGE = "{ conversations(first: 5) { nodes { conversationId segments { nodes { kind } } } } }"


async def _most_at_once(
    engine: AsyncEngine, limit: int, aggregate: bool = True, urgent: bool = False
) -> int:
    running = most = 0

    async def block() -> None:
        nonlocal running, most
        with (
            aggregate_reads() if aggregate else nullcontext(),
            urgent_reads() if urgent else nullcontext(),
        ):
            async with aggregate_turn(limit, engine):
                running += 1
                most = max(most, running)
                await asyncio.sleep(0.01)
                running -= 1

    await asyncio.gather(*(block() for _ in range(6)))
    return most


async def test_turns_bound_the_aggregates_in_flight(gw: Gateway) -> None:
    assert await _most_at_once(gw.engine, 1) == 1
    assert await _most_at_once(gw.engine, 2) == 2
    assert await _most_at_once(gw.engine, 0) == 6  # no limit
    assert await _most_at_once(gw.engine, 1, aggregate=False) == 6  # page reads never wait
    assert await _most_at_once(gw.engine, 1, urgent=True) == 6  # nor the live picture's metrics


async def test_a_read_inside_a_turn_is_part_of_it(gw: Gateway) -> None:
    """A whole answer's read goes through the page reader: it must not wait for itself."""
    with aggregate_reads():
        async with aggregate_turn(1, gw.engine):
            await asyncio.wait_for(_nested(gw.engine), 1)


async def _nested(engine: AsyncEngine) -> None:
    async with aggregate_turn(1, engine):
        pass


async def _while_the_turn_is_held(
    gw: Gateway, ask: Callable[[], Awaitable[Any]]
) -> tuple[bool, Any]:
    """Whether `ask()` was still waiting after 0.3 s while another task held the only turn,
    and its answer once the turn was given back."""
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        with aggregate_reads():
            async with aggregate_turn(1, gw.engine):
                held.set()
                await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    asked = asyncio.ensure_future(ask())
    await asyncio.sleep(0.3)
    waiting = not asked.done()
    release.set()
    await holder
    return waiting, await asyncio.wait_for(asked, 30)


def _context(gw: Gateway, limit: int = 1) -> Context:
    options = dataclasses.replace(gw.options, aggregate_concurrency=limit)
    return Context(engine=gw.engine, viewer=gw.viewer, options=options)


@pytest.mark.parametrize("document", [REPORT, METRICS], ids=["report", "metrics"])
async def test_reports_and_metrics_wait_for_their_turn(gw: Gateway, document: str) -> None:
    waiting, result = await _while_the_turn_is_held(
        gw, lambda: SCHEMA.execute(document, context_value=_context(gw))
    )
    assert result.errors is None, result.errors
    assert waiting


async def test_pages_do_not_wait(gw: Gateway) -> None:
    waiting, result = await _while_the_turn_is_held(
        gw, lambda: SCHEMA.execute(PAGE, context_value=_context(gw))
    )
    assert result.errors is None, result.errors
    assert not waiting


async def test_without_a_limit_nothing_waits(gw: Gateway) -> None:
    waiting, result = await _while_the_turn_is_held(
        gw, lambda: SCHEMA.execute(REPORT, context_value=_context(gw, 0))
    )
    assert result.errors is None, result.errors
    assert not waiting


async def test_dashboards_answered_whole_wait_for_their_turn(gw: Gateway) -> None:
    whole = WholeAnswers(SCHEMA._schema)
    for _ in range(3):  # GraphQL answers, learned; then whole (PostgreSQL: compiled)
        context = _context(gw, 0)
        if await whole.answer(context, METRICS, None, None) is None:
            result = await SCHEMA.execute(METRICS, context_value=context)
            assert result.errors is None, result.errors
            whole.learn(context, METRICS, None, None)
    waiting, body = await _while_the_turn_is_held(
        gw, lambda: whole.answer(_context(gw), METRICS, None, None)
    )
    assert body is not None and b'"metrics"' in body
    assert waiting


def test_the_setting_reaches_the_resolvers() -> None:
    assert Settings(aggregate_concurrency=1).options().aggregate_concurrency == 1
    assert Settings().options().aggregate_concurrency == 0


def test_the_slots_setting_reaches_the_engine() -> None:
    """(What the slots do: tests/test_aggregate_slots.py, on PostgreSQL.)"""
    assert Settings(db_aggregate_slots=1).engine_options()["aggregate_slots"] == 1
    assert Settings().engine_options()["aggregate_slots"] == 0
