"""Schemathesis's GraphQL mode against the gateway in-process, as an admin and as an agent.

For every root field (queries and mutations, read from the schema itself, so a new one is fuzzed
without editing this file) Schemathesis generates documents: valid ones with arbitrary arguments
(positive) and ones that break the schema's types (negative). They go through the whole app over
in-process HTTP (authentication, limits, masking) to a small demo database of the module's own
(the admin's mutations write to it). Whatever the document, the answer is never a server fault:
no 5xx, a JSON object that keeps the schema's promises, negative documents refused, and every
error a named one with a code, never `Internal error.`.

The run is derandomized (the same documents every run) and bounded: `INSIGHTS_FUZZ_EXAMPLES`
documents per field and role (default 4). `tools/fuzz.py` runs it longer, with a seed of choice.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import DEMO_END, SCHEMA
from tests.databases import fresh_database
from tests.helpers import app_client, rows
from warehouse.demo import build_demo
from warehouse.engine import create_engine

EXAMPLES = int(os.environ.get("INSIGHTS_FUZZ_EXAMPLES", "4"))
SEED = os.environ.get("INSIGHTS_FUZZ_SEED", "")  # empty: derandomized
SHRINK = os.environ.get("INSIGHTS_FUZZ_SHRINK", "") == "1"
SECRET = "fuzz-secret-that-is-long-enough-for-hs256"
API = schemathesis.graphql.from_dict(SCHEMA.introspect())
OPERATIONS = {op.label: op for op in (result.ok() for result in API.get_all_operations())}
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
CHECKS = [
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]
INTERNAL = "Internal error."


def _settings(test: Any) -> Any:
    configured = settings(
        max_examples=EXAMPLES,
        derandomize=not SEED,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        # a failure is the same on every run (derandomized): `tools/fuzz.py --shrink` minimizes it
        phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if SHRINK else [])],
    )(test)
    return seed(int(SEED))(configured) if SEED else configured


@pytest.fixture(scope="module")
async def fuzz_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    url = await fresh_database(tmp_path_factory.mktemp("fuzz"), "fuzz")
    engine = create_engine(url)
    await build_demo(engine, segments=300, seed=3, days=2, end=DEMO_END, tz=ZoneInfo("UTC"))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def bearers(fuzz_engine: AsyncEngine) -> dict[str, str]:
    """A token per role: an admin, and an agent who has segments."""
    (agent,) = await rows(
        fuzz_engine, "SELECT agent_id FROM segments WHERE agent_id IS NOT NULL ORDER BY 1 LIMIT 1"
    )
    claims = {
        "admin": {"sub": "fuzz-admin", "role": "admin"},
        "agent": {"sub": "fuzz-agent", "role": "agent", "agentId": agent["agent_id"]},
    }
    expires = int(time.time()) + 3600
    return {
        role: jwt.encode({**claim, "exp": expires}, SECRET, algorithm="HS256")
        for role, claim in claims.items()
    }


@pytest.fixture(scope="module")
async def gateway(fuzz_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(fuzz_engine, auth="on", jwt_secret=SECRET) as client:
        yield client


@cache
def _cases(label: str, mode: GenerationMode) -> st.SearchStrategy[schemathesis.Case]:
    return OPERATIONS[label].as_strategy(generation_mode=mode)


def server_faults(response: httpx.Response) -> list[str]:
    """What in an answer is a server fault rather than a named refusal."""
    if response.status_code >= 500:
        return [f"status {response.status_code}: {response.text[:500]}"]
    try:
        body = response.json()
    except ValueError:
        return [f"status {response.status_code}, not JSON: {response.text[:500]}"]
    if not isinstance(body, dict):
        return [f"not a JSON object: {body!r:.500}"]
    faults = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if error.get("message") == INTERNAL or code == "INTERNAL_SERVER_ERROR":
            faults.append(f"internal error at {error.get('path')}: {error}")
        elif not isinstance(code, str) or not code:
            faults.append(f"error without a code: {error}")
    return faults


@pytest.mark.parametrize("label", list(OPERATIONS))
@pytest.mark.parametrize("role", ["admin", "agent"])
@_settings
@given(data=st.data())
async def test_fuzzed_documents_never_fault_the_server(
    gateway: httpx.AsyncClient, bearers: dict[str, str], role: str, label: str, data: Any
) -> None:
    mode = data.draw(st.sampled_from(MODES), label="mode")
    case = data.draw(_cases(label, mode), label="case")
    response = await gateway.post(
        "/graphql",
        json=API.prepare_request_body(case),
        headers={"authorization": f"Bearer {bearers[role]}"},
    )
    assert response.status_code != 401, f"the {role}'s token was refused: {response.text}"
    faults = server_faults(response)
    assert not faults, f"{label} as {role} ({mode.value}):\n{case.body}\n" + "\n".join(faults)
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(("role", "visible"), [("admin", None), ("agent", 1)])
async def test_the_fuzzers_viewers_reach_the_data(
    gateway: httpx.AsyncClient, bearers: dict[str, str], role: str, visible: int | None
) -> None:
    """Guards the fuzz test: its documents run as the viewers it names, not refused at the gate."""
    response = await gateway.post(
        "/graphql",
        json={"query": "{ agents { totalCount } }"},
        headers={"authorization": f"Bearer {bearers[role]}"},
    )
    total = response.json()["data"]["agents"]["totalCount"]
    assert total == visible if visible is not None else total > 1
