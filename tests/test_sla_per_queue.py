"""Service level per queue: each segment is judged against its own queue's SLA threshold.

Hypothesis picks thresholds for some queues (the others keep the workspace threshold); the report's
rows by queue, its total across queues with different targets, `Queue.slaThreshold` and the
realtime picture's service level are compared with the plain-Python oracle.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.settings import Settings
from resolvers.context import Options
from resolvers.metrics.catalog import Thresholds
from tests.conftest import Gateway
from tests.metrics_oracle import Limits, Warehouse

QUERY = """{
  report(groupBy: [QUEUE]) {
    rows { key { queue } metrics { serviceLevel segmentsWithinSla
                                   loose: serviceLevel(slaThreshold: 300) } }
    total { serviceLevel segmentsWithinSla loose: serviceLevel(slaThreshold: 300) }
  }
  queues(first: 100) { nodes { name slaThreshold } }
}"""


@pytest.fixture(scope="module")
async def warehouse(gw: Gateway) -> Warehouse:
    return await Warehouse.load(gw.engine)


@pytest.fixture(scope="module")
def queue_names(warehouse: Warehouse) -> list[str]:
    names = sorted({r["queue"] for r in warehouse.segments if r["queue"] and r["kind"] == "QUEUE"})
    assert len(names) >= 2, "the demo must have several queues for this test to mean anything"
    return names


def targets(names: list[str]) -> st.SearchStrategy[dict[str, int]]:
    return st.dictionaries(st.sampled_from(names), st.integers(0, 240), min_size=1)


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_each_segment_meets_its_own_queues_target(
    gw: Gateway, warehouse: Warehouse, queue_names: list[str], data: st.DataObject
) -> None:
    per_queue = data.draw(targets(queue_names), label="per_queue")
    default = data.draw(st.integers(0, 240), label="default")
    pairs = tuple(sorted(per_queue.items()))
    thresholds = Thresholds(sla_threshold=default, sla_thresholds=pairs)
    answer = await Gateway(gw.engine, Options(thresholds=thresholds)).query(QUERY)
    report = answer["report"]

    limits = Limits(sla=default, sla_by_queue=pairs)
    expected = warehouse.report(["QUEUE"], ["segments"], lim=limits)
    loose = warehouse.report(["QUEUE"], ["segments"], lim=Limits(sla=300))
    for row in report["rows"]:
        key = (row["key"]["queue"],)
        assert row["metrics"]["segmentsWithinSla"] == expected[key]["segmentsWithinSla"], key
        assert row["metrics"]["serviceLevel"] == pytest.approx(expected[key]["serviceLevel"])
        # the field argument overrides every queue's target
        assert row["metrics"]["loose"] == pytest.approx(loose[key]["serviceLevel"])

    total = warehouse.report([], ["segments"], lim=limits)[()]
    assert report["total"]["segmentsWithinSla"] == total["segmentsWithinSla"]
    assert report["total"]["serviceLevel"] == pytest.approx(total["serviceLevel"])
    everywhere = warehouse.report([], ["segments"], lim=Limits(sla=300))[()]
    assert report["total"]["loose"] == pytest.approx(everywhere["serviceLevel"])

    shown = {q["name"]: q["slaThreshold"] for q in answer["queues"]["nodes"]}
    assert shown == {name: per_queue.get(name, default) for name in shown}


def test_the_setting_is_a_json_object_of_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_SLA_THRESHOLDS", '{"Sales": 20, "Support": 90}')
    monkeypatch.setenv("INSIGHTS_SLA_THRESHOLD", "45")
    thresholds = Settings(_env_file=None).options().thresholds  # type: ignore[call-arg]
    assert thresholds.sla_for("Sales") == 20
    assert thresholds.sla_for("Support") == 90
    assert thresholds.sla_for("Billing") == 45


@pytest.mark.parametrize("value", ['{"Sales": -1}', '{"Sales": "soon"}', '["Sales", 20]', "20"])
def test_a_bad_setting_names_the_problem(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("INSIGHTS_SLA_THRESHOLDS", value)
    with pytest.raises(ValueError, match="sla_thresholds"):
        Settings(_env_file=None)  # type: ignore[call-arg]
