"""Metrics and reports against an independent computation in plain Python (tests/metrics_oracle.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from resolvers.context import Options
from resolvers.metrics.catalog import CATALOG, Thresholds
from tests.conftest import Gateway
from tests.helpers import camel
from tests.metrics_oracle import COMPUTE, DATASETS, UTC_ZONE, Limits, Row, Warehouse

LONDON = ZoneInfo("Europe/London")
ALL = [m.name for m in CATALOG]
# a metric with a required argument is selected with the one the oracle computes
ARGUMENTS = {"speedOfAnswerPercentile": f"(percentile: {Limits().percentile})"}


def selection(names: list[str]) -> str:
    return " ".join(name + ARGUMENTS.get(name, "") for name in names)


BY_DATASET = {d: [m.name for m in CATALOG if m.dataset.value == d] for d in DATASETS}
ENTITY_KEYS = {
    "AGENT": "agentId",
    "TEAM": "teamId",
    "HANDLING_TEAM": "teamId",
    "DEPARTMENT": "departmentId",
    "HANDLING_DEPARTMENT": "departmentId",
    "CUSTOMER": "customerId",
    "CASE": "caseId",
    "CAMPAIGN": "campaignId",
    "PROJECT": "projectId",
    "INITIATIVE": "initiativeId",
}


@pytest.fixture(scope="module")
async def warehouse(gw: Gateway) -> Warehouse:
    return await Warehouse.load(gw.engine)


def key_field(dimension: str) -> str:
    name = camel(dimension.lower())
    if dimension in ENTITY_KEYS:
        return f"{name} {{ {ENTITY_KEYS[dimension]} }}"
    return name


def graphql_name(dimension: str) -> str:
    return key_field(dimension).split(" ")[0]


def key_of(row: dict[str, Any], group_by: list[str]) -> tuple[Any, ...]:
    values = []
    for d in group_by:
        value = row["key"][graphql_name(d)]
        if d in ENTITY_KEYS and value is not None:
            value = value[ENTITY_KEYS[d]]
        values.append(value)
    return tuple(values)


def report_query(group_by: list[str], metrics: list[str], args: str = "") -> str:
    keys = " ".join(key_field(d) for d in group_by) or "__typename"
    chosen = selection(metrics)
    return f"""{{ report(groupBy: [{", ".join(group_by)}] {args}) {{
        totalRows rows {{ key {{ {keys} }} metrics {{ {chosen} }} }} total {{ {chosen} }} }} }}"""


def assert_values(got: dict[str, Any], expected: dict[str, Any], where: Any) -> None:
    for name, value in expected.items():
        if name not in got:
            continue
        if isinstance(value, float) or isinstance(got[name], float):
            assert got[name] == pytest.approx(value, rel=1e-9), (where, name)
        else:
            assert got[name] == value, (where, name)


def datasets_of(metrics: list[str]) -> list[str]:
    return [d for d in DATASETS if set(BY_DATASET[d]) & set(metrics)]


async def check_report(
    gw: Gateway,
    wh: Warehouse,
    group_by: list[str],
    metrics: list[str],
    *,
    args: str = "",
    tz: ZoneInfo = UTC_ZONE,
    start: datetime | None = None,
    end: datetime | None = None,
    keep: Any = lambda seg: True,
) -> dict[str, Any]:
    data = (await gw.query(report_query(group_by, metrics, args)))["report"]
    used = datasets_of(metrics)
    expected = wh.report(group_by, used, tz=tz, start=start, end=end, keep=keep)
    got = {key_of(r, group_by): r["metrics"] for r in data["rows"]}
    assert set(got) == set(expected)
    assert data["totalRows"] == len(expected)
    for key, values in expected.items():
        assert_values(got[key], values, key)
    total = wh.report([], used, tz=tz, start=start, end=end, keep=keep)[()]
    assert_values(data["total"], total, "total")
    return data  # type: ignore[no-any-return]


def test_the_oracle_covers_every_metric_of_the_catalog() -> None:
    computed = {n for d in DATASETS for n in COMPUTE[d]([], Limits())}
    assert computed == set(ALL)


async def test_metric_definitions(gw: Gateway) -> None:
    data = await gw.query(
        "{ metricDefinitions { name title description dataSet unit formula thresholds } }"
    )
    defs = {d["name"]: d for d in data["metricDefinitions"]}
    assert list(defs) == ALL
    assert defs["serviceLevel"]["unit"] == "ratio"
    assert defs["serviceLevel"]["thresholds"] == ["slaThreshold", "shortAbandonThreshold"]
    assert defs["idleTime"]["dataSet"] == "workload"
    assert defs["averageAssessmentScore"]["unit"] == "percent"
    assert all(d["formula"] and d["description"] and d["title"] for d in defs.values())


GROUPINGS = [
    ["QUEUE", "INTERVAL_15_MINUTES"],
    ["AGENT"],
    ["HANDLING_TEAM", "DATE"],
    ["TEAM", "DEPARTMENT", "HANDLING_DEPARTMENT"],
    ["CHANNEL", "DIRECTION", "WORKFLOW"],
    ["CAMPAIGN", "PROJECT", "INITIATIVE"],
    ["CASE", "OUTCOME"],
    ["CUSTOMER"],
    ["YEAR", "QUARTER", "MONTH", "WEEK", "DAY_OF_WEEK"],
    ["HOUR", "INTERVAL_30_MINUTES"],
    [],
]


@pytest.mark.parametrize("group_by", GROUPINGS, ids=lambda g: "-".join(g) or "none")
async def test_report_matches_python_for_every_metric(
    gw: Gateway, warehouse: Warehouse, group_by: list[str]
) -> None:
    await check_report(gw, warehouse, group_by, ALL)


async def test_kind_and_activity_reach_segments_and_workload(
    gw: Gateway, warehouse: Warehouse
) -> None:
    metrics = BY_DATASET["segments"] + BY_DATASET["workload"]
    await check_report(gw, warehouse, ["KIND", "ACTIVITY"], metrics)


async def test_time_range_and_filter(gw: Gateway, warehouse: Warehouse) -> None:
    start = datetime(2026, 3, 27, 6, tzinfo=UTC)
    end = datetime(2026, 3, 28, 13, 30, tzinfo=UTC)
    args = (
        'from: "2026-03-27T06:00:00Z", to: "2026-03-28T13:30:00Z", '
        'filter: {communicationChannel: {in: ["Call", "Chat"]}, direction: {eq: INBOUND}}'
    )

    def keep(seg: Row) -> bool:
        return seg["communication_channel"] in ("Call", "Chat") and seg["direction"] == "INBOUND"

    data = await check_report(
        gw, warehouse, ["QUEUE", "HOUR"], ALL, args=args, start=start, end=end, keep=keep
    )
    assert data["rows"], "the range holds data"


async def test_filter_through_a_link(gw: Gateway, warehouse: Warehouse) -> None:
    team = next(a["team_id"] for a in warehouse.agents.values() if a["team_id"])
    args = f'filter: {{agent: {{team: {{teamId: {{eq: "{team}"}}}}}}}}'

    def keep(seg: Row) -> bool:
        agent = warehouse.agents.get(seg["agent_id"])
        return agent is not None and agent["team_id"] == team

    await check_report(gw, warehouse, ["AGENT", "DATE"], ALL, args=args, keep=keep)


async def test_empty_scope_gives_zero_counts_and_null_averages(
    gw: Gateway, warehouse: Warehouse
) -> None:
    args = 'from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z"'
    data = await check_report(gw, warehouse, ["QUEUE"], ALL, args=args,
                              start=datetime(2020, 1, 1, tzinfo=UTC),
                              end=datetime(2020, 1, 2, tzinfo=UTC))  # fmt: skip
    assert data["rows"] == [] and data["totalRows"] == 0
    total = data["total"]
    assert total["segments"] == 0 and total["handlingTime"] == 0
    assert total["serviceLevel"] is None and total["averageHandlingTime"] is None
    assert total["longestQueueTime"] is None and total["averageAssessmentScore"] is None


async def test_london_time_buckets_across_the_dst_change(gw: Gateway, warehouse: Warehouse) -> None:
    london = Gateway(gw.engine, Options(timezone=LONDON))
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    end = datetime(2026, 3, 29, 12, tzinfo=UTC)
    args = 'from: "2026-03-28T12:00:00Z", to: "2026-03-29T12:00:00Z"'
    data = await check_report(
        london, warehouse, ["DATE", "HOUR", "INTERVAL_15_MINUTES"], ALL,
        args=args, tz=LONDON, start=start, end=end,
    )  # fmt: skip
    hours = {(r["key"]["date"], r["key"]["hour"]) for r in data["rows"]}
    assert ("2026-03-29", 1) not in hours, "01:00-02:00 does not exist in London that night"
    assert any(d == "2026-03-29" and h >= 2 for d, h in hours), "rows after the change"
    # the whole data range too, where min/max of the data give the zone's transitions
    await check_report(london, warehouse, ["DAY_OF_WEEK", "INTERVAL_30_MINUTES"], ALL, tz=LONDON)


async def test_report_order_by_metric_and_dimension_and_first(
    gw: Gateway, warehouse: Warehouse
) -> None:
    query = """{ report(groupBy: [QUEUE, DATE], first: 5,
        orderBy: [{metric: HANDLED_CONVERSATIONS, direction: DESC}, {dimension: DATE}]) {
        totalRows rows { key { queue date } metrics { averageSpeedOfAnswer } } } }"""
    data = (await gw.query(query))["report"]
    expected = warehouse.report(["QUEUE", "DATE"], ["segments"])
    ranked = sorted(
        expected.items(),
        key=lambda kv: (
            -kv[1]["handledConversations"],
            kv[0][1],
            (kv[0][0] is None, kv[0][0] or ""),
        ),
    )
    assert data["totalRows"] == len(expected)
    assert [(r["key"]["queue"], r["key"]["date"]) for r in data["rows"]] == [
        k for k, _ in ranked[:5]
    ]
    query = "{ report(groupBy: [HOUR], orderBy: [{dimension: HOUR, direction: DESC}]) { rows { key { hour } } } }"
    hours = [r["key"]["hour"] for r in (await gw.query(query))["report"]["rows"]]
    assert hours == sorted(hours, reverse=True) and len(hours) > 5


async def test_thresholds_from_settings_and_per_field(gw: Gateway, warehouse: Warehouse) -> None:
    query = """{ report(groupBy: [QUEUE]) { rows { key { queue } metrics {
        serviceLevel strict: serviceLevel(slaThreshold: 20, shortAbandonThreshold: 10)
        availableTime idle: availableTime(availableActivity: "Idle")
        shortAbandonedConversations } } } }"""
    strict = Limits(sla=20, short=10, available="Idle")
    default = warehouse.report(["QUEUE"], ["segments"])
    overridden = warehouse.report(["QUEUE"], ["segments"], lim=strict)
    for row in (await gw.query(query))["report"]["rows"]:
        key = (row["key"]["queue"],)
        m = row["metrics"]
        assert m["serviceLevel"] == pytest.approx(default[key]["serviceLevel"])
        assert m["strict"] == pytest.approx(overridden[key]["serviceLevel"])
        assert m["idle"] == overridden[key]["availableTime"]
    # settings change the default of every field
    tight = Gateway(gw.engine, Options(thresholds=Thresholds(sla_threshold=15)))
    data = await tight.query("{ report(groupBy: []) { total { serviceLevel } } }")
    expected = warehouse.report([], ["segments"], lim=Limits(sla=15))[()]["serviceLevel"]
    assert data["report"]["total"]["serviceLevel"] == pytest.approx(expected)
    assert expected != pytest.approx(warehouse.report([], ["segments"])[()]["serviceLevel"])


async def test_total_counts_a_transferred_conversation_once(
    gw: Gateway, warehouse: Warehouse
) -> None:
    data = await check_report(gw, warehouse, ["AGENT"], ["handledConversations"])
    per_agent = sum(r["metrics"]["handledConversations"] for r in data["rows"])
    assert per_agent > data["total"]["handledConversations"], "the demo has transfers"


# --- entity metrics ---------------------------------------------------------------------------

ENTITY_METRICS = [
    ("agents", "agentId", "AGENT"),
    ("teams", "teamId", "HANDLING_TEAM"),
    ("departments", "departmentId", "HANDLING_DEPARTMENT"),
    ("queues", "name", "QUEUE"),
    ("customers", "customerId", "CUSTOMER"),
    ("cases", "caseId", "CASE"),
    ("campaigns", "campaignId", "CAMPAIGN"),
    ("projects", "projectId", "PROJECT"),
    ("initiatives", "initiativeId", "INITIATIVE"),
]


@pytest.mark.parametrize(("root", "key", "dimension"), ENTITY_METRICS, ids=lambda v: str(v))
async def test_entity_metrics_match_python(
    gw: Gateway, warehouse: Warehouse, root: str, key: str, dimension: str
) -> None:
    start = datetime(2026, 3, 27, tzinfo=UTC)
    query = f"""{{ {root}(first: 50) {{ nodes {{ {key}
        metrics(from: "2026-03-27T00:00:00Z", filter: {{direction: {{ne: OUTBOUND}}}}) {{
        {selection(ALL)} }} }} }} }}"""
    nodes = (await gw.query(query))[root]["nodes"]

    def keep(seg: Row) -> bool:
        return seg["direction"] != "OUTBOUND"

    expected = warehouse.report([dimension], DATASETS, start=start, keep=keep)
    nothing = warehouse.report([], DATASETS, start=datetime(2030, 1, 1, tzinfo=UTC))[()]
    assert nodes
    for node in nodes:
        assert_values(node["metrics"], expected.get((node[key],), nothing), node[key])
    assert any(node["metrics"]["segments"] for node in nodes)


async def test_conversation_metrics_match_python(gw: Gateway, warehouse: Warehouse) -> None:
    query = f"{{ conversations(first: 50) {{ nodes {{ conversationId metrics {{ {selection(ALL)} }} }} }} }}"
    nodes = (await gw.query(query))["conversations"]["nodes"]
    for node in nodes:
        cid = node["conversationId"]
        rows = [s for s in warehouse.segments if s["conversation_id"] == cid]
        ids = {s["segment_id"] for s in rows}
        expected = {
            **COMPUTE["segments"](rows, Limits()),
            **COMPUTE["workload"](
                [w for w in warehouse.workload if w["segment_id"] in ids], Limits()
            ),
            **COMPUTE["assessments"](
                [a for a in warehouse.assessments if a["segment_id"] in ids], Limits()
            ),
        }
        assert_values(node["metrics"], expected, cid)


# --- errors -------------------------------------------------------------------------------------


async def test_unreachable_dimension_names_metric_and_dimension(gw: Gateway) -> None:
    errors = await gw.errors(
        "{ report(groupBy: [ACTIVITY]) { rows { metrics { segments averageAssessmentScore } } } }"
    )
    assert len(errors) == 1
    assert "averageAssessmentScore" in errors[0] and "ACTIVITY" in errors[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("groupBy: [QUEUE], orderBy: [{dimension: HOUR}]", "not in `groupBy`"),
        ("groupBy: [QUEUE], orderBy: [{}]", "exactly one of"),
        ("groupBy: [QUEUE, QUEUE]", "twice"),
        ("groupBy: [QUEUE], first: -1", "`first`"),
        ("groupBy: [QUEUE], first: 100000", "`first`"),
        ("groupBy: [COLOUR]", "COLOUR"),
    ],
)
async def test_bad_report_arguments_are_clear_errors(gw: Gateway, args: str, message: str) -> None:
    errors = await gw.errors(f"{{ report({args}) {{ rows {{ metrics {{ segments }} }} }} }}")
    assert any(message in e for e in errors), errors
    assert not any("Internal error" in e for e in errors)


@pytest.mark.parametrize("extra", ["", "workloadTalkTime assessments"])
async def test_order_by_metric_with_one_or_several_data_sets(
    gw: Gateway, warehouse: Warehouse, extra: str
) -> None:
    """One data set is ordered and cut in SQL; several are joined, then sorted: same answer."""
    query = f"""{{ report(groupBy: [HANDLING_TEAM, HOUR], first: 7,
        orderBy: [{{metric: AVERAGE_SPEED_OF_ANSWER, direction: DESC}}]) {{
        totalRows rows {{ key {{ handlingTeam {{ teamId }} hour }} metrics {{ segments {extra} }} }} }} }}"""
    data = (await gw.query(query))["report"]
    used = ["segments", *(["workload", "assessments"] if extra else [])]
    expected = warehouse.report(["HANDLING_TEAM", "HOUR"], used)

    def rank(item: tuple[tuple[Any, ...], dict[str, Any]]) -> tuple[Any, ...]:
        (team, hour), values = item
        asa = values["averageSpeedOfAnswer"]
        # descending with empty values first, then the dimensions ascending with empty ones last
        return (asa is not None, -(asa or 0), team is None, team or "", hour)

    ranked = [k for k, _ in sorted(expected.items(), key=rank)]
    got = [(r["key"]["handlingTeam"] and r["key"]["handlingTeam"]["teamId"], r["key"]["hour"])
           for r in data["rows"]]  # fmt: skip
    assert data["totalRows"] == len(expected)
    assert got == ranked[:7]


async def test_first_zero_still_counts_the_groups(gw: Gateway, warehouse: Warehouse) -> None:
    data = await gw.query(
        "{ report(groupBy: [QUEUE], first: 0) { totalRows rows { key { queue } } } }"
    )
    assert data["report"]["rows"] == []
    assert data["report"]["totalRows"] == len(warehouse.report(["QUEUE"], ["segments"]))


# --- drill-down ---------------------------------------------------------------------------------


async def test_drill_down_lists_exactly_the_segments_of_each_row(
    gw: Gateway, warehouse: Warehouse
) -> None:
    """Every row's segments, paged through with `after`, are the oracle's segments of its key."""
    group_by = ["QUEUE", "DIRECTION", "INTERVAL_30_MINUTES"]
    args = 'from: "2026-03-27T00:00:00Z", to: "2026-03-28T00:00:00Z", filter: {kind: {ne: AGENT_STATUS}}'
    start, end = datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 28, tzinfo=UTC)
    expected: dict[tuple[Any, ...], set[str]] = {}
    for seg in warehouse.segments:
        if start <= seg["started_at"] < end and seg["kind"] != "AGENT_STATUS":
            key = tuple(warehouse.dimension(d, "segments", seg, UTC_ZONE) for d in group_by)
            expected.setdefault(key, set()).add(seg["segment_id"])
    query = f"""{{ report(groupBy: [QUEUE, DIRECTION, INTERVAL_30_MINUTES], {args}) {{ rows {{
        key {{ queue direction interval30Minutes }} metrics {{ segments }}
        segments(first: 2) {{ totalCount pageInfo {{ endCursor hasNextPage }} nodes {{ segmentId }} }}
        }} }} }}"""
    found: dict[tuple[Any, ...], set[str]] = {}
    for row in (await gw.query(query))["report"]["rows"]:
        key = key_of(row, group_by)
        page = row["segments"]
        assert page["totalCount"] == row["metrics"]["segments"] == len(expected[key])
        found[key] = {n["segmentId"] for n in page["nodes"]}
        while page["pageInfo"]["hasNextPage"]:
            page = await _next_page(gw, args, row["key"], page["pageInfo"]["endCursor"])
            found[key] |= {n["segmentId"] for n in page["nodes"]}
    assert found == expected
    assert any(key[0] is None for key in expected), "rows with an empty queue drill down too"


async def _next_page(gw: Gateway, args: str, key: dict[str, Any], cursor: str) -> dict[str, Any]:
    """The next page of one row's segments: the same report narrowed to that row by filter."""
    queue = "isNull: true" if key["queue"] is None else f'eq: "{key["queue"]}"'
    direction = "isNull: true" if key["direction"] is None else f"eq: {key['direction']}"
    narrowed = args.replace(
        "filter: {", f"filter: {{queue: {{{queue}}}, direction: {{{direction}}}, "
    )
    query = f"""{{ report(groupBy: [QUEUE, DIRECTION, INTERVAL_30_MINUTES], {narrowed}) {{ rows {{
        key {{ interval30Minutes }}
        segments(first: 2, after: "{cursor}") {{ pageInfo {{ endCursor hasNextPage }} nodes {{ segmentId }} }}
        }} }} }}"""
    rows = (await gw.query(query))["report"]["rows"]
    (row,) = [r for r in rows if r["key"]["interval30Minutes"] == key["interval30Minutes"]]
    return row["segments"]  # type: ignore[no-any-return]


async def test_more_rows_than_the_cap_without_first_is_an_error(gw: Gateway) -> None:
    capped = Gateway(gw.engine, Options(max_report_rows=5))
    errors = await capped.errors("{ report(groupBy: [HOUR]) { rows { key { hour } } } }")
    assert "more than the maximum of 5" in errors[0]
    data = await capped.query(
        "{ report(groupBy: [HOUR], first: 5) { totalRows rows { key { hour } } } }"
    )
    assert len(data["report"]["rows"]) == 5 and data["report"]["totalRows"] > 5


async def test_drill_down_pages_backwards_and_in_any_order(
    gw: Gateway, warehouse: Warehouse
) -> None:
    query = """{ report(groupBy: [QUEUE, HOUR], orderBy: [{metric: SEGMENTS, direction: DESC}], first: 1) { rows {
        key { queue hour }
        all: segments(first: 100, orderBy: [{field: QUEUE_TIME, direction: DESC}]) { nodes { segmentId } }
        tail: segments(last: 3, orderBy: [{field: QUEUE_TIME, direction: DESC}]) { nodes { segmentId } }
        top: segments(first: 3, orderBy: [{field: QUEUE_TIME, direction: DESC}]) { nodes { segmentId } }
        } } }"""
    (row,) = (await gw.query(query))["report"]["rows"]
    key = (row["key"]["queue"], row["key"]["hour"])
    rows = [s for s in warehouse.segments if (s["queue"], s["started_at"].hour) == key]
    # empty values first descending, then larger first; the natural key breaks ties ascending
    rows.sort(key=lambda s: (s["queue_time"] is not None, -(s["queue_time"] or 0), s["segment_id"]))
    ids = [s["segment_id"] for s in rows]
    assert 6 < len(ids) <= 100
    assert [n["segmentId"] for n in row["all"]["nodes"]] == ids
    assert [n["segmentId"] for n in row["top"]["nodes"]] == ids[:3]
    assert [n["segmentId"] for n in row["tail"]["nodes"]] == ids[-3:]


async def test_one_alias_for_two_different_metrics_in_rows_is_an_error(gw: Gateway) -> None:
    errors = await gw.errors(
        """{ report(groupBy: [QUEUE]) { rows { a: metrics { x: serviceLevel }
            b: metrics { x: serviceLevel(slaThreshold: 10) } } } }"""
    )
    assert "`x`" in errors[0] and "distinct aliases" in errors[0]
    # the same metric under the same alias twice is fine
    await gw.query(
        "{ report(groupBy: [QUEUE]) { rows { a: metrics { x: talkTime } b: metrics { x: talkTime } } } }"
    )
