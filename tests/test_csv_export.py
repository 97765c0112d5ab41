"""`Accept: text/csv` on a `report` query: the same answer as JSON, as a spreadsheet file.

Hypothesis draws groupings, metrics and aliases; the CSV, read back with the csv module, must hold
exactly the JSON answer's rows and total under the query's own names. An agent's CSV is the agent's
JSON (same scope), and anything but one `report` query is refused before it runs.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import app_client, rows
from warehouse.api_keys import create_key, revoke_key

CSV_HEADERS = {"accept": "text/csv"}
DIMENSIONS = {"QUEUE": "queue", "CHANNEL": "channel", "DATE": "date", "HOUR": "hour",
              "AGENT": "agent { agentId fullName }"}  # fmt: skip
COLUMNS = {"AGENT": ["agent.agentId", "agent.fullName"]}  # the others: their one field
METRICS = [
    "segments",
    "handledConversations",
    "serviceLevel",
    "averageTalkTime",
    "longestQueueTime",
]


def at(data: Any, dotted: str) -> Any:
    for step in dotted.split("."):
        data = data.get(step) if isinstance(data, dict) else None
    return data


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


async def both(c: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None) -> Any:
    body = {"query": query}
    answer = await c.post("/graphql", json=body, headers=headers or {})
    sheet = await c.post("/graphql", json=body, headers={**(headers or {}), **CSV_HEADERS})
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"].startswith("text/csv")
    return answer.json()["data"]["report"], list(csv.reader(io.StringIO(sheet.text)))


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    dimensions=st.lists(st.sampled_from(sorted(DIMENSIONS)), min_size=0, max_size=2, unique=True),
    metrics=st.lists(st.sampled_from(METRICS), min_size=1, max_size=3, unique=True),
    aliased=st.booleans(),
    with_total=st.booleans(),
)
async def test_the_csv_holds_the_json_answer(
    client: httpx.AsyncClient,
    dimensions: list[str],
    metrics: list[str],
    aliased: bool,
    with_total: bool,
) -> None:
    selection = " ".join(f"m{i}: {m}" if aliased else m for i, m in enumerate(metrics))
    keys = " ".join(DIMENSIONS[d] for d in dimensions) or "__typename"
    total = f"total {{ {selection} }}" if with_total else ""
    query = """{ report(groupBy: [%s], first: 500) {
        rows { key { %s } metrics { %s } } %s } }""" % (
        ", ".join(dimensions),
        keys,
        selection,
        total,
    )
    report, lines = await both(client, query)
    key_names = [c for d in dimensions for c in COLUMNS.get(d, [DIMENSIONS[d]])]
    metric_names = [f"m{i}" if aliased else m for i, m in enumerate(metrics)]
    header, *body = lines
    assert header == key_names + metric_names
    expected = [
        [as_text(at(r["key"], k)) for k in key_names]
        + [as_text(r["metrics"][m]) for m in metric_names]
        for r in report["rows"]
    ]
    if with_total:
        label = ["total"] + [""] * (len(key_names) - 1) if key_names else []
        expected.append(label + [as_text(report["total"][m]) for m in metric_names])
    assert body == expected


async def test_an_agents_csv_is_the_agents_json(small_engine: AsyncEngine) -> None:
    (agent,) = await rows(small_engine, "SELECT agent_id FROM agents ORDER BY agent_id LIMIT 1")
    key, text = await create_key(small_engine, "agent", agent_id=agent["agent_id"], label="csv")
    query = "{ report(groupBy: [QUEUE]) { rows { key { queue } metrics { segments } } } }"
    bearer = {"authorization": f"Bearer {text}"}
    try:
        async with app_client(small_engine, jwt_secret="s" * 32, auth_cache_seconds=0) as c:
            report, lines = await both(c, query, bearer)
            assert lines[1:] == [[r["key"]["queue"] or "", str(r["metrics"]["segments"])]
                                 for r in report["rows"]]  # fmt: skip
            admin = await c.post("/graphql", json={"query": query}, headers=CSV_HEADERS)
            assert admin.status_code == 401, "no token, no file"
            assert admin.headers["content-type"].startswith("application/json")
    finally:
        await revoke_key(small_engine, key.key_id)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("{ agents { totalCount } }", 406, "only root field is `report`"),
        ("{ report(groupBy: []) { totalRows } agents { totalCount } }", 406, "only root field"),
        ("mutation { createAssessments(input: []) { totalCount } }", 406, "one query operation"),
        ("{ report(groupBy: [NOPE]) { rows { metrics { segments } } } }", 400, "NOPE"),
        ("{ report(groupBy: [QUEUE] { rows", 400, "Syntax Error"),
        ('{ report(groupBy: [QUEUE], timeZone: "Mars/Base") { rows { metrics { segments } } } }',
         422, "not a known IANA time zone"),
    ],
)  # fmt: skip
async def test_what_cannot_be_a_csv_is_a_json_error(
    client: httpx.AsyncClient, query: str, status: int, message: str
) -> None:
    response = await client.post("/graphql", json={"query": query}, headers=CSV_HEADERS)
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert any(message in e["message"] for e in errors), errors
