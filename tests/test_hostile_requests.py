"""Nothing cheap can be expensive: generated hostile requests against a served gateway.

The gateway runs as `insights-gateway serve` on a free port (one worker: one event loop, as each
worker in production). While each hostile request is in flight, `/healthz` is called over and over on the
same server: it must keep answering within a second (the event loop is not held), and the hostile
request must get a JSON error with a code within two seconds.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.served import database_url, served

HEALTHZ_WITHIN = 1.0
REFUSED_WITHIN = 2.0
EXAMPLES = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def gateway(small_engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`insights-gateway serve` over the test database; its base URL."""
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    with served(database_url(small_engine), log, env={"INSIGHTS_LOG_LEVEL": "warning"}) as url:
        yield url


@pytest.fixture(scope="module")
async def http(gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as c:
        yield c


@dataclass(frozen=True)
class Hostile:
    """One request: a JSON body (or raw bytes) and the codes that may refuse it."""

    body: Any
    codes: frozenset[str]
    may_succeed: bool = False  # slow to check but valid: answering it is fine, in time


async def _watch_healthz(c: httpx.AsyncClient, latencies: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.monotonic()
        response = await c.get("/healthz")
        latencies.append(time.monotonic() - started)
        assert response.status_code == 200
        await asyncio.sleep(0.02)


async def assert_refused_in_time(c: httpx.AsyncClient, hostile: Hostile) -> None:
    latencies: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_healthz(c, latencies, stop))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    if isinstance(hostile.body, bytes):
        headers = {"content-type": "application/json"}
        response = await c.post("/graphql", content=hostile.body, headers=headers)
    else:
        response = await c.post("/graphql", json=hostile.body)
    elapsed = time.monotonic() - started
    await asyncio.sleep(0.05)
    stop.set()
    await watcher
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert elapsed < REFUSED_WITHIN, f"answered after {elapsed:.2f}s"
    assert latencies and max(latencies) < HEALTHZ_WITHIN, f"/healthz took {max(latencies):.2f}s"
    if hostile.may_succeed and not body.get("errors"):
        return
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    assert codes and codes <= hostile.codes, body


# --- the generators ------------------------------------------------------------------------------

ROOTS = [("agents", "Agent", "agentId fullName"), ("teams", "Team", "teamId name")]


@st.composite
def fragment_bombs(draw: st.DrawFn) -> Hostile:
    """Fragments spreading the next one `ways` times, `levels` deep: tiny text, huge expansion."""
    root, type_name, fields = draw(st.sampled_from(ROOTS))
    ways = draw(st.integers(2, 4))
    levels = draw(st.integers(math.ceil(math.log(20_000, ways)), 24))
    nested = draw(st.booleans()) and type_name == "Agent"
    fragments = []
    for i in range(levels):
        inner = " ".join([f"...F{i + 1}"] * ways) if i + 1 < levels else ""
        if nested and inner:
            inner = f"team {{ agents {{ nodes {{ {inner} }} }} }}"
        fragments.append(f"fragment F{i} on {type_name} {{ {fields} {inner} }}")
    query = f"{{ {root} {{ nodes {{ ...F0 }} }} }} " + " ".join(fragments)
    return Hostile({"query": query}, frozenset({"QUERY_TOO_LARGE", "QUERY_TOO_DEEP"}))


def _nest(depth: int, kinds: list[bool]) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if kinds[level % len(kinds)] else {"x": value}
    return value


@st.composite
def deep_json(draw: st.DrawFn) -> Hostile:
    """A body nested far deeper than any request needs, in variables or beside them."""
    depth = draw(st.integers(40, 12_000))  # within the body size limit
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=3))
    text = "1"
    for level in range(depth):
        text = f"[{text}]" if kinds[level % len(kinds)] else '{"x":' + text + "}"
    where = draw(st.sampled_from(["variables", "extensions", "other"]))
    query = json.dumps("query($v: Int) { teams { totalCount } }")
    body = '{"query":%s,"%s":{"v":%s}}' % (query, where, text)
    return Hostile(body.encode(), frozenset({"BAD_REQUEST"}))


@st.composite
def deep_filters(draw: st.DrawFn) -> Hostile:
    """`not` inside `not`, written in the document or sent as a variable."""
    depth = draw(st.integers(17, 330))
    leaf = draw(st.sampled_from(["{queueTime: {eq: 1}}", '{communicationChannel: {eq: "Call"}}']))
    if draw(st.booleans()):
        literal = leaf
        for _ in range(depth):
            literal = "{not: [" + literal + "]}"
        body = {"query": "{ segments(filter: %s) { totalCount } }" % literal}
    else:
        value: Any = {"queueTime": {"eq": 1}}
        for _ in range(min(depth, 20)):
            value = {"not": [value]}
        body = {
            "query": "query($f: SegmentFilter) { segments(filter: $f) { totalCount } }",
            "variables": {"f": value},
        }
    codes = {"INPUT_TOO_DEEP", "GRAPHQL_PARSE_FAILED", "BAD_REQUEST"}
    return Hostile(body, frozenset(codes))


@st.composite
def wide_filters(draw: st.DrawFn) -> Hostile:
    """Thousands of terms: each one SQL to compile and an object for Strawberry to convert."""
    terms = draw(st.integers(101, 2_500))  # within the body size limit
    field = draw(st.sampled_from(["queueTime", "talkTime", "holdTime"]))
    combine = draw(st.sampled_from(["or", "and"]))
    if draw(st.booleans()):
        filter_: Any = {combine: [{field: {"eq": n}} for n in range(terms)]}
    else:
        filter_ = {field: {"in": list(range(draw(st.integers(1_001, 7_500))))}}
    body = {
        "query": "query($f: SegmentFilter) { segments(filter: $f) { totalCount } }",
        "variables": {"f": filter_},
    }
    return Hostile(body, frozenset({"INPUT_TOO_LARGE"}))


@st.composite
def long_reports(draw: st.DrawFn) -> Hostile:
    """A report grouped by time over centuries (or beyond the calendar)."""
    start = draw(st.integers(1, 7_000))
    years = draw(st.integers(11, 2_999))
    dimension = draw(st.sampled_from(["WEEK", "MONTH", "DATE", "HOUR", "YEAR"]))
    end = min(start + years, 9_999)
    query = (
        '{ report(groupBy: [%s], from: "%04d-01-01T00:00:00Z", to: "%04d-12-31T00:00:00Z") '
        "{ rows { metrics { segments } } } }" % (dimension, start, end)
    )
    return Hostile({"query": query}, frozenset({"RANGE_TOO_LONG", "OUT_OF_RANGE"}))


@st.composite
def huge_cursors(draw: st.DrawFn) -> Hostile:
    """A cursor whose values no column can hold."""
    big = draw(st.integers(2**63, 10**300) | st.integers(-(10**300), -(2**63) - 1))
    value = draw(st.sampled_from([big, {"t": big}, {"d": "x" * 50}, [big]]))
    cursor = json.dumps({"o": "started_at+,segment_id+", "v": [value, "S"]})
    encoded = base64.urlsafe_b64encode(cursor.encode()).decode()
    query = '{ segments(after: "%s") { nodes { segmentId } } }' % encoded
    return Hostile({"query": query}, frozenset({"INVALID_CURSOR"}))


@st.composite
def slow_validation(draw: st.DrawFn) -> Hostile:
    """The same field hundreds of times: valid, but slow for validation to compare pairwise."""
    copies = draw(st.integers(300, 490))
    field = draw(st.sampled_from(["agents { totalCount }", "teams { totalCount }"]))
    query = "{ " + " ".join([field] * copies) + " }"
    return Hostile({"query": query}, frozenset({"QUERY_TOO_COMPLEX"}), may_succeed=True)


KINDS = {
    "fragment bomb": fragment_bombs(),
    "deep JSON": deep_json(),
    "deep filter": deep_filters(),
    "wide filter": wide_filters(),
    "report over centuries": long_reports(),
    "huge cursor": huge_cursors(),
    "slow validation": slow_validation(),
}


@pytest.mark.parametrize("kind", list(KINDS))
@EXAMPLES
@given(data=st.data())
async def test_hostile_requests_are_refused_without_holding_the_server(
    http: httpx.AsyncClient, kind: str, data: st.DataObject
) -> None:
    await assert_refused_in_time(http, data.draw(KINDS[kind]))


async def test_ordinary_requests_still_answer(http: httpx.AsyncClient) -> None:
    """The limits refuse the hostile, not the ordinary: the same shapes, small, run."""
    query = (
        "{ agents(first: 2) { nodes { ...A } } } "
        "fragment A on Agent { agentId team { name } ...B ...B } fragment B on Agent { fullName }"
    )
    body = (await http.post("/graphql", json={"query": query})).json()
    assert "errors" not in body and len(body["data"]["agents"]["nodes"]) == 2
    report = '{ report(groupBy: [MONTH], from: "2026-01-01T00:00:00Z", to: "2026-04-01T00:00:00Z") { rows { metrics { segments } } } }'
    body = (await http.post("/graphql", json={"query": report})).json()
    assert "errors" not in body and body["data"]["report"]["rows"]
