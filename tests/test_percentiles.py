"""Medians and percentiles: exact, interpolated, for groups of every size, on both engines.

Rows by agent and hour make many small groups: the test checks that groups with no value, one
value and an even count of values are among those compared, so the interpolation is exercised.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Gateway
from tests.metrics_oracle import Limits, Warehouse, percentile_cont

MEDIANS = ["medianTalkTime", "medianHoldTime", "medianSpeedOfAnswer", "averageExperienceTime"]


@pytest.fixture(scope="module")
async def warehouse(gw: Gateway) -> Warehouse:
    return await Warehouse.load(gw.engine)


def test_the_oracle_interpolates_like_percentile_cont() -> None:
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([None, 7], 0.5) == 7
    assert percentile_cont([4, 1, 3, 2], 0.5) == 2.5
    assert percentile_cont([10, 20], 0.9) == pytest.approx(19.0)
    assert percentile_cont([5, 1, 9], 1.0) == 9


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(fraction=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1, allow_nan=False)))
async def test_percentiles_by_agent_and_hour(
    gw: Gateway, warehouse: Warehouse, fraction: float
) -> None:
    query = """query ($p: Float!) { report(groupBy: [AGENT, HOUR], first: 10000) {
        rows { key { agent { agentId } hour }
               metrics { %s speedOfAnswerPercentile(percentile: $p) handledConversations } }
        total { %s speedOfAnswerPercentile(percentile: $p) } } }""" % (
        " ".join(MEDIANS),
        " ".join(MEDIANS),
    )
    data = (await gw.query(query, {"p": fraction}))["report"]
    limits = Limits(percentile=fraction)
    expected = warehouse.report(["AGENT", "HOUR"], ["segments"], lim=limits)
    sizes: dict[Any, int] = defaultdict(int)
    for row in data["rows"]:
        agent = row["key"]["agent"]
        key = (agent["agentId"] if agent else None, row["key"]["hour"])
        for name in [*MEDIANS, "speedOfAnswerPercentile"]:
            assert row["metrics"][name] == pytest.approx(expected[key][name]), (key, name)
        sizes[key] = row["metrics"]["handledConversations"]
    counts = set(sizes.values())
    assert 0 in counts and 1 in counts and any(c > 1 and c % 2 == 0 for c in counts), counts
    total = warehouse.report([], ["segments"], lim=limits)[()]
    for name in [*MEDIANS, "speedOfAnswerPercentile"]:
        assert data["total"][name] == pytest.approx(total[name]), name


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
async def test_a_percentile_outside_0_to_1_is_a_clear_error(gw: Gateway, fraction: float) -> None:
    query = "query ($p: Float!) { report(groupBy: []) { total { speedOfAnswerPercentile(percentile: $p) } } }"
    errors = await gw.errors(query, {"p": fraction})
    assert any("`percentile` must be between 0 and 1" in e for e in errors), errors


async def test_ordering_by_a_percentile_names_the_missing_argument(gw: Gateway) -> None:
    query = """{ report(groupBy: [QUEUE], orderBy: [{metric: SPEED_OF_ANSWER_PERCENTILE}]) {
        rows { key { queue } } } }"""
    errors = await gw.errors(query)
    assert any("needs a `percentile` argument" in e for e in errors), errors
