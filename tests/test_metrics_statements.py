"""Metrics cost one aggregate statement per data set, whatever the number of entities or rows."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers import pages
from resolvers.context import Options
from resolvers.metrics import grouped_sql
from resolvers.metrics.inline import constants_inline
from tests.conftest import Gateway, _demo
from warehouse.engine import sync_engines, thread_reader

SEGMENT = "handledConversations averageHandlingTime serviceLevel occupancy"
WORKLOAD = "workloadTalkTime idleTime"
ASSESSMENT = "assessments averageAssessmentScore"


async def _count(gw: Gateway, query: str) -> tuple[int, list[str]]:
    with gw.counting() as statements:
        await gw.query(query)
    return len(statements), statements


@pytest.mark.parametrize(
    ("query", "objects", "json"),
    [
        # objects: the page, then one aggregate per data set for all 50 entities; JSON rows: the
        # page's statement joins those aggregates
        (f"{{ customers(first: 50) {{ nodes {{ metrics {{ {SEGMENT} }} }} }} }}", 2, 1),
        (
            f"{{ customers(first: 50) {{ nodes {{ metrics {{ {SEGMENT} {WORKLOAD} {ASSESSMENT} }} }} }} }}",
            4,
            1,
        ),
        (
            f"""{{ agents(first: 50) {{ nodes {{ metrics(from: "2026-03-27T00:00:00Z") {{
                {SEGMENT} {WORKLOAD} {ASSESSMENT} }}
                other: metrics(filter: {{kind: {{eq: QUEUE}}}}) {{ queueSegments }} }} }} }}""",
            5,
            1,
        ),
        (
            f"{{ conversations(first: 50) {{ nodes {{ metrics {{ {SEGMENT} {WORKLOAD} }} }} }} }}",
            3,
            1,
        ),
        # groups of nested entities batch too: teams, then agents of all teams, then one aggregate;
        # JSON rows: the agents' page joins it (the teams' rows stay objects: a page nested in
        # JSON rows is a subquery per parent, which metrics are not joined to)
        (f"{{ teams {{ nodes {{ agents {{ nodes {{ metrics {{ {SEGMENT} }} }} }} }} }} }}", 3, 2),
    ],
)
async def test_entity_metrics_batch(
    gw: Gateway, gw_large: Gateway, query: str, objects: int, json: int
) -> None:
    for json_rows, expected in ((False, objects), (True, json)):
        counts = []
        for served in (gw, gw_large):
            count, statements = await _count(
                Gateway(served.engine, Options(json_rows=json_rows)), query
            )
            counts.append(count)
        assert counts == [expected, expected], (json_rows, statements)


async def test_a_page_of_50_entities_really_has_50(gw: Gateway) -> None:
    data = await gw.query("{ customers(first: 50) { nodes { metrics { segments } } } }")
    assert len(data["customers"]["nodes"]) == 50
    assert sum(n["metrics"]["segments"] for n in data["customers"]["nodes"]) > 50


@pytest.mark.parametrize("json_rows", [False, True])
async def test_only_selected_data_sets_run(gw: Gateway, json_rows: bool) -> None:
    served = Gateway(gw.engine, Options(json_rows=json_rows))
    query = f"{{ queues {{ nodes {{ metrics {{ {WORKLOAD} }} }} }} }}"
    count, statements = await _count(served, query)
    assert count == (1 if json_rows else 2)  # JSON rows: the aggregate joined to the page
    assert "workload" in statements[-1] and "talk_time" in statements[-1]
    assert "hold_time" not in statements[-1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # rows: one grouped statement per data set; total: one statement per data set
        (
            f"""{{ report(groupBy: [QUEUE, CHANNEL]) {{ rows {{ key {{ queue channel }}
                metrics {{ {SEGMENT} {WORKLOAD} {ASSESSMENT} }} }}
                total {{ {SEGMENT} {WORKLOAD} {ASSESSMENT} }} }} }}""",
            6,
        ),
        # time buckets add the data range of each data set (min/max) when from/to are open
        (
            f"""{{ report(groupBy: [QUEUE, INTERVAL_15_MINUTES]) {{ rows {{ key {{ queue interval15Minutes }}
                metrics {{ {SEGMENT} {WORKLOAD} {ASSESSMENT} }} }} }} }}""",
            6,
        ),
        (
            f"""{{ report(groupBy: [QUEUE, INTERVAL_15_MINUTES], from: "2026-03-26T00:00:00Z",
                to: "2026-03-30T00:00:00Z") {{ rows {{ key {{ queue interval15Minutes }}
                metrics {{ {SEGMENT} {WORKLOAD} {ASSESSMENT} }} }} }} }}""",
            3,
        ),
        # rows, then agents and teams of the keys, drill-down pages and their counts: one each
        (
            f"""{{ report(groupBy: [AGENT, HANDLING_TEAM]) {{ rows {{
                key {{ agent {{ fullName }} handlingTeam {{ name }} }}
                metrics {{ {SEGMENT} }}
                segments(first: 3) {{ totalCount nodes {{ segmentId }} }} }} }} }}""",
            5,
        ),
    ],
)
async def test_report_statements(gw: Gateway, gw_large: Gateway, query: str, expected: int) -> None:
    small, statements = await _count(gw, query)
    large, _ = await _count(gw_large, query)
    assert small == large == expected, statements


@pytest.fixture(scope="module")
async def busy_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """One busy day: the demo staffs it with more than 50 agents."""
    engine = await _demo(tmp_path_factory.mktemp("db") / "busy.db", 5_000, seed=5, days=1)
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("json_rows", [False, True])
async def test_a_page_of_50_agents_costs_one_aggregate_per_data_set(
    busy_engine: AsyncEngine, json_rows: bool
) -> None:
    gw = Gateway(busy_engine, Options(json_rows=json_rows))
    query = f"""{{ agents(first: 50) {{ nodes {{ agentId metrics {{ {SEGMENT} {WORKLOAD} {ASSESSMENT} }} }} }} }}"""
    with gw.counting() as statements:
        data = await gw.query(query)
    nodes = data["agents"]["nodes"]
    assert len(nodes) == 50
    assert sum(1 for n in nodes if n["metrics"]["handledConversations"]) > 10
    # segments, workload and assessments aggregated once each for all 50 agents: after the
    # page, or joined to it
    if json_rows:
        assert len(statements) == 1, statements
        assert statements[0].count("GROUP BY") == 3
    else:
        assert len(statements) == 4, statements
        assert [s.count("GROUP BY") for s in statements[1:]] == [1, 1, 1]


# the dashboard's board of queues (bench/load.py): metrics that share distinct counts
QUEUE_BOARD = """query($from: DateTime!, $to: DateTime!) { queues(first: 50) { nodes { name
  metrics(from: $from, to: $to) { conversations handledConversations abandonedConversations
    abandonedConversationsRate averageHandlingTime } } } }"""


async def _board_statements(gw: Gateway) -> list[tuple[str, Any]]:
    """The grouped statements (and their parameters) a day's queue board runs."""
    captured: list[tuple[str, Any]] = []

    def _capture(_c: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    engines = sync_engines(gw.engine)
    for target in engines:
        event.listen(target, "before_cursor_execute", _capture)
    try:
        variables = {"from": "2026-03-28T00:00:00Z", "to": "2026-03-29T00:00:00Z"}
        data = await gw.query(QUEUE_BOARD, variables)
    finally:
        for target in engines:
            event.remove(target, "before_cursor_execute", _capture)
    assert sum(n["metrics"]["conversations"] for n in data["queues"]["nodes"]) > 0
    return [(statement, params) for statement, params in captured if "GROUP BY" in statement]


async def test_metrics_sharing_an_aggregate_compute_it_once(gw: Gateway) -> None:
    """`abandonedConversationsRate` and `averageHandlingTime` reuse the distinct counts of the
    counts beside them: six `count(DISTINCT ...)` in the SQL, three computed (read on the
    object path, where the aggregate is a statement of its own)."""
    gw = Gateway(gw.engine, Options(json_rows=False))
    (statement, params), *others = await _board_statements(gw)
    assert not others, others
    counts = re.findall(r"count\(DISTINCT CASE WHEN .*? END\)", statement)
    assert len(counts) == 6
    # identical text, bound parameters included ($1 and $8 are two different aggregates)
    assert len(set(counts)) == 3, counts
    reader = thread_reader(gw.engine)
    if reader is not None:  # SQLite: the plan sorts three distinct sets, on the time index
        with reader.connect() as connection:
            plan = [
                r[3] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
        assert sum("count(DISTINCT)" in line for line in plan) == 3, plan
        assert "started_at>? AND started_at<?" in plan[0], plan


async def test_aggregates_are_built_once_per_metric_and_thresholds(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard asks the same metrics again and again over a sliding window: their aggregates
    are built (and their constants inlined) once, not on each request's event loop turn. Other
    thresholds are other aggregates, built anew."""
    built: list[Any] = []

    def counting(expression: Any) -> Any:
        built.append(expression)
        return constants_inline(expression)

    monkeypatch.setattr(grouped_sql, "constants_inline", counting)
    grouped_sql.metric_sql.cache_clear()
    selected = 5  # QUEUE_BOARD's metrics
    for day in (28, 29, 28):
        variables = {"from": f"2026-03-{day}T00:00:00Z", "to": f"2026-03-{day + 1}T00:00:00Z"}
        await gw.query(QUEUE_BOARD, variables)
        assert len(built) == selected
    for threshold in (7, 7, 8):
        document = QUEUE_BOARD.replace(
            "conversations handled", f"serviceLevel(slaThreshold: {threshold}) handled"
        )
        await gw.query(document, {"from": "2026-03-28T00:00:00Z", "to": "2026-03-29T00:00:00Z"})
    assert len(built) == selected + 2


async def test_sliding_windows_keep_the_prebuilt_statements_bounded(gw: Gateway) -> None:
    """A board's metrics (their time window) are compiled into its rows' JSON shape. A window
    given with an offset is bound at each read (`schema/variable_binds.py`): one prebuilt
    statement serves every window. A wall-clock window is read in the query's zone, so each is
    a statement of its own: only the most recent are kept."""
    built = pages._plain_page_statement
    assert built.cache_info().maxsize == pages.STATEMENTS
    assert pages._plain_child_statement.cache_info().maxsize == pages.STATEMENTS
    # counted by misses: once the suite has filled the cache, its size no longer moves
    before = built.cache_info()
    for hour in range(3):
        window = {"from": f"2026-03-28T0{hour}:17:31", "to": "2026-03-29T00:17:31Z"}
        await gw.query(QUEUE_BOARD, window)
    after = built.cache_info()
    assert after.misses == before.misses + 3
    assert after.currsize == min(before.currsize + 3, pages.STATEMENTS)
    for hour in range(3):  # other instants than above (in UTC those were the same)
        window = {"from": f"2026-03-28T1{hour}:42:05Z", "to": "2026-03-29T00:17:31Z"}
        await gw.query(QUEUE_BOARD, window)
    assert built.cache_info().misses <= after.misses + 1  # (another test may have built it)


async def test_a_boards_groups_are_the_pages_keys(gw: Gateway) -> None:
    """A board answered as JSON joins each row's metrics from a grouped statement restricted to
    the page's keys: on PostgreSQL as an array read first (`= ANY(ARRAY(…))`), which an index on
    the key serves in order, where `IN (subquery)` became a hash join and a sort; on SQLite as
    the subquery."""
    ((statement, _),) = await _board_statements(gw)
    among = re.search(r"segments\.queue (= ANY \(array\(\(SELECT|IN \(SELECT)", statement)
    assert among is not None, statement
    postgresql = gw.engine.dialect.name == "postgresql"
    assert among.group(1).startswith("= ANY") == postgresql, statement
