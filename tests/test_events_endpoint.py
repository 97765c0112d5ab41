"""`POST /events`: JSON object, JSON array or TaskRouter's form-encoded callback; 4xx for bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.settings import Settings
from tests.ingest_helpers import fresh_engine
from warehouse import tables as t
from warehouse.ingest import Ingestor
from warehouse.ingest_tables import dead_letters, events

TASK = "WT0000000000000000000000000000001"
CREATED = {
    "EventType": "task.created",
    "Sid": "EV1",
    "Timestamp": "1774000000",
    "TaskSid": TASK,
    "TaskAttributes": json.dumps({"direction": "inbound", "from": "+441234"}),
    "TaskChannelUniqueName": "voice",
}
ENTERED = CREATED | {"EventType": "task-queue.entered", "Sid": "EV2", "TaskQueueName": "Sales"}
CANCELED = CREATED | {
    "EventType": "task.canceled",
    "Sid": "EV3",
    "Timestamp": "1774000042",
    "TaskCanceledReason": "Customer Hung Up",
}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(tmp_path / "http.db")
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url="sqlite+aiosqlite://", auth="off"), engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client


async def _count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_form_object_and_array_bodies_are_stored_before_the_answer(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    form = await client.post(
        "/events",
        content=urlencode(CREATED),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 200 and form.json()["applied"] == 1
    single = await client.post("/events", json=ENTERED)
    assert single.status_code == 200 and single.json()["applied"] == 1
    batch = await client.post("/events", json=[CANCELED, ENTERED])
    assert batch.status_code == 200
    assert (batch.json()["applied"], batch.json()["ignored"]) == (1, 1)
    assert await _count(engine, events) == 3
    async with engine.connect() as conn:
        kinds = sorted(
            (await conn.execute(select(t.segments.c.kind, t.segments.c.abandoned))).all()
        )
    assert kinds == [("CONVERSATION", "YES"), ("QUEUE", "YES")]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", "application/json", "body is not valid JSON"),
        (b"", "application/json", "empty body"),
        (b"42", "application/json", "body must be a JSON object or array"),
        (b"\xff\xfe", "application/json", "body is not UTF-8"),
    ],
)
async def test_a_bad_body_is_a_400_naming_the_problem_and_kept(
    client: httpx.AsyncClient, engine: AsyncEngine, body: bytes, content_type: str, message: str
) -> None:
    response = await client.post("/events", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert await _count(engine, dead_letters) == 1


async def test_a_malformed_event_in_an_array_is_a_422_and_the_others_apply(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    bad = {"EventType": "task.created", "Sid": "EV9"}
    response = await client.post("/events", json=[CREATED, bad])
    assert response.status_code == 422
    answer = response.json()
    assert (answer["applied"], answer["rejected"]) == (1, 1)
    assert answer["errors"] == ["http:2: missing Timestamp (or TimestampMs)"]
    assert await _count(engine, events) == 1
    assert await _count(engine, dead_letters) == 1


def _ingested(outcome: str) -> float:
    return REGISTRY.get_sample_value("insights_ingest_events_total", {"outcome": outcome}) or 0.0


async def test_metrics_count_ingested_events_by_outcome(client: httpx.AsyncClient) -> None:
    before = {o: _ingested(o) for o in ("applied", "ignored", "rejected")}
    batches = REGISTRY.get_sample_value("insights_ingest_batches_total") or 0.0
    bad = {"EventType": "task.created", "Sid": "EV9"}
    assert (await client.post("/events", json=[CREATED, ENTERED, bad])).status_code == 422
    assert (await client.post("/events", json=CREATED)).status_code == 200  # a re-delivery
    assert {o: _ingested(o) - before[o] for o in before} == {
        "applied": 2,
        "ignored": 1,
        "rejected": 1,
    }
    assert REGISTRY.get_sample_value("insights_ingest_batches_total") == batches + 2


async def test_absurd_values_are_a_json_422_and_the_good_events_of_the_array_apply(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    absurd = [
        CREATED | {"Sid": "EVa", "Timestamp": 1e300},
        CREATED | {"Sid": "EVb", "TaskSid": "WTb", "TaskPriority": 2**63},
        CREATED | {"Sid": "EVc", "TaskSid": "WTc", "Timestamp": "99999999999999"},
    ]
    body = json.dumps([CREATED, *absurd, ENTERED]).replace("1e+300", "NaN")
    response = await client.post(
        "/events", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    answer = response.json()
    assert (answer["read"], answer["applied"], answer["rejected"]) == (5, 2, 3)
    assert [e.split(" ", 1)[0] for e in answer["errors"]] == [
        "http:2:",
        "http:3:",
        "http:4:",
    ]
    assert "Timestamp must be epoch seconds, got nan" in answer["errors"][0]
    assert "TaskPriority" in answer["errors"][1] and "out of range" in answer["errors"][1]
    assert "outside 2000-01-01 to 2100-01-01" in answer["errors"][2]
    assert await _count(engine, events) == 2


async def test_json_nested_beyond_the_parser_is_a_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/events",
        content="[" * 100_000 + "]" * 100_000,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


async def test_a_database_outage_is_a_json_503_and_nothing_is_stored(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(*_: object) -> None:
        raise OperationalError("BEGIN", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(Ingestor, "apply_each", unavailable)
    response = await client.post("/events", json=[CREATED])
    assert response.status_code == 503
    assert response.json() == {"error": "database unavailable: nothing was stored, retry later"}
