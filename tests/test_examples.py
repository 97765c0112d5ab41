"""Every operation under examples/ runs against the demo data and answers with real numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.examples import EXAMPLES_DIR, day_variables, default_document, load_examples
from gateway.examples import valid_examples as valid_examples_for
from tests.conftest import DEMO_END, DEMO_NOW, SCHEMA, Gateway, NowDemo

EXAMPLES = load_examples()
VARIABLES = day_variables(DEMO_END, ZoneInfo("UTC"))


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _agents_today(data: dict[str, Any]) -> None:
    agents = data["agents"]["nodes"]
    assert agents and data["agents"]["totalCount"] >= len(agents)
    assert sum(a["metrics"]["handledConversations"] for a in agents) > 0
    assert any(a["metrics"]["averageHandlingTime"] for a in agents)


def _service_level_by_queue(data: dict[str, Any]) -> None:
    queues = data["queues"]["nodes"]
    levels = [q["metrics"]["serviceLevel"] for q in queues if q["metrics"]["serviceLevel"]]
    assert levels and all(0 <= level <= 1 for level in levels)
    for q in queues:  # a stricter threshold never raises the service level
        m = q["metrics"]
        if m["serviceLevel"] is not None:
            assert m["serviceLevelWithin30s"] <= m["serviceLevel"]


def _conversation(data: dict[str, Any]) -> None:
    (node,) = data["assessments"]["nodes"]
    conversation = node["segment"]["conversation"]
    segments = conversation["segments"]["nodes"]
    assert conversation["conversationId"] and segments
    assert any(s["assessments"]["nodes"] for s in segments)
    assert [s["startedAt"] for s in segments] == sorted(s["startedAt"] for s in segments)


def _service_level_by_queue_and_interval(data: dict[str, Any]) -> None:
    report = data["report"]
    rows = report["rows"]
    assert rows and all(r["key"]["queue"] and r["key"]["interval15Minutes"] for r in rows)
    volumes = [r["metrics"]["queueSegments"] for r in rows]
    assert volumes == sorted(volumes, reverse=True), "busiest intervals first"
    total = report["total"]
    assert total["queueSegments"] >= sum(volumes)
    assert 0 <= total["serviceLevel"] <= 1


def _drill_down(data: dict[str, Any]) -> None:
    rows = data["report"]["rows"]
    assert rows
    for row in rows:
        name = row["key"]["agent"]["fullName"]
        drilled = row["segments"]
        assert drilled["totalCount"] >= row["metrics"]["handledConversations"] > 0, name
        assert drilled["nodes"]


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "AgentsToday": _agents_today,
    "ServiceLevelByQueue": _service_level_by_queue,
    "ServiceLevelByQueueAndInterval": _service_level_by_queue_and_interval,
    "ConversationWithSegmentsAndAssessments": _conversation,
    "DrillDownFromReportRow": _drill_down,
}


def test_every_example_has_a_check_of_its_own() -> None:
    assert {e.name for e in EXAMPLES} == set(CHECKS)


def _param(example: Any) -> Any:
    return pytest.param(example, id=example.path.name)


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5
    assert len({e.name for e in EXAMPLES}) == len(EXAMPLES), "operation names must be unique"


@pytest.mark.parametrize("example", [_param(e) for e in EXAMPLES])
async def test_example_runs_on_the_demo_data(gw: Gateway, example: Any) -> None:
    assert example.errors(SCHEMA._schema) == []
    data = await gw.query(example.text, VARIABLES)
    assert any(leaf not in (None, 0, "") for leaf in _leaves(data)), "the example found no data"
    CHECKS.get(example.name, lambda _: None)(data)


@pytest.mark.parametrize("example", [_param(e) for e in EXAMPLES])
async def test_example_answers_today_on_a_demo_ending_now(now_demo: NowDemo, example: Any) -> None:
    """What GraphiQL opens with, as `make run` serves it: today so far, work still in progress."""
    today = day_variables(DEMO_NOW.date(), ZoneInfo("UTC"))
    data = await now_demo.gateway().query(example.text, today)
    assert any(leaf not in (None, 0, "") for leaf in _leaves(data)), "the example found no data"
    CHECKS[example.name](data)


@pytest.mark.parametrize("example", [_param(e) for e in EXAMPLES])
async def test_example_statement_count_does_not_grow_with_the_data(
    gw: Gateway, gw_large: Gateway, example: Any
) -> None:
    counts = []
    for gateway in (gw, gw_large):
        with gateway.counting() as statements:
            await gateway.query(example.text, VARIABLES)
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 10, counts


def test_default_document_holds_the_examples_that_validate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    valid = valid_examples_for(SCHEMA._schema)
    document = default_document(valid)
    assert {e.name for e in valid} == {e.name for e in EXAMPLES}
    for example in valid:
        assert example.text.strip() in document
    assert not caplog.records, "no example is left out"


def test_an_example_must_name_one_operation(tmp_path: Any) -> None:
    (tmp_path / "bad.graphql").write_text("{ agents { totalCount } }")
    with pytest.raises(ValueError, match=r"bad\.graphql: an example holds exactly one named"):
        load_examples(tmp_path)


def test_day_variables_follow_the_time_zone() -> None:
    # Europe/London springs forward on the demo's last day: that day has 23 hours
    variables = day_variables(DEMO_END, ZoneInfo("Europe/London"))
    assert variables == {
        "dayStart": "2026-03-29T00:00:00+00:00",
        "dayEnd": "2026-03-30T00:00:00+01:00",
    }
    assert EXAMPLES_DIR.name == "examples"
