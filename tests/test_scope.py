"""Row-level scope: an agent or supervisor reaches nothing outside their scope on any path.

Expected rows come from plain SQL in the tests, never from the scope code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.viewer import Role, Viewer
from tests.conftest import Gateway
from tests.helpers import gid, rows


@dataclass(frozen=True)
class World:
    """Two agents in different teams, both with segments, assessments and workload."""

    me: str
    my_team: str
    other: str
    other_team: str


@pytest.fixture(scope="module")
async def world(small_engine: AsyncEngine) -> World:
    return await find_world(small_engine)


async def find_world(engine: AsyncEngine) -> World:
    """The first agent with assessments and segments in their own team, and one of another team."""
    found = await rows(
        engine,
        """
        SELECT a.agent_id, a.team_id FROM agents a
        WHERE EXISTS (SELECT 1 FROM assessments x WHERE x.agent_id = a.agent_id)
          AND EXISTS (SELECT 1 FROM segments s WHERE s.agent_id = a.agent_id
                      AND s.handling_team_id = a.team_id)
        ORDER BY a.agent_id
        """,
    )
    me = found[0]
    other = next(r for r in found if r["team_id"] != me["team_id"])
    return World(me["agent_id"], me["team_id"], other["agent_id"], other["team_id"])


@pytest.fixture(scope="module")
def agent_gw(small_engine: AsyncEngine, world: World) -> Gateway:
    return Gateway(small_engine, viewer=Viewer(Role.AGENT, "agent-user", agent_id=world.me))


@pytest.fixture(scope="module")
def supervisor_gw(small_engine: AsyncEngine, world: World) -> Gateway:
    viewer = Viewer(Role.SUPERVISOR, "SUP-TEST", team_ids=frozenset({world.my_team}))
    return Gateway(small_engine, viewer=viewer)


async def keys(engine: AsyncEngine, sql: str, **params: Any) -> set[str]:
    return {next(iter(r.values())) for r in await rows(engine, sql, **params)}


# what each role may see, in plain SQL: (root connection, key field, SQL for agent, for supervisor)
SEG_AGENT = "SELECT segment_id FROM segments WHERE agent_id = :agent"
SEG_TEAM = "SELECT segment_id FROM segments WHERE handling_team_id = :team"
EXPECTED = [
    ("segments", "segmentId", SEG_AGENT, SEG_TEAM),
    (
        "conversations",
        "conversationId",
        "SELECT DISTINCT conversation_id FROM segments WHERE agent_id = :agent AND conversation_id IS NOT NULL",
        "SELECT DISTINCT conversation_id FROM segments WHERE handling_team_id = :team AND conversation_id IS NOT NULL",
    ),
    (
        "customers",
        "customerId",
        "SELECT DISTINCT customer_id FROM segments WHERE agent_id = :agent AND customer_id IS NOT NULL",
        "SELECT DISTINCT customer_id FROM segments WHERE handling_team_id = :team AND customer_id IS NOT NULL",
    ),
    (
        "cases",
        "caseId",
        "SELECT DISTINCT c.case_id FROM conversations c JOIN segments s ON s.conversation_id = c.conversation_id WHERE s.agent_id = :agent AND c.case_id IS NOT NULL",
        "SELECT DISTINCT c.case_id FROM conversations c JOIN segments s ON s.conversation_id = c.conversation_id WHERE s.handling_team_id = :team AND c.case_id IS NOT NULL",
    ),
    (
        "agents",
        "agentId",
        "SELECT agent_id FROM agents WHERE agent_id = :agent",
        "SELECT agent_id FROM agents WHERE team_id = :team",
    ),
    (
        "assessments",
        "assessmentId",
        "SELECT assessment_id FROM assessments WHERE agent_id = :agent",
        "SELECT assessment_id FROM assessments WHERE segment_id IN (%s) OR supervisor_id = 'SUP-TEST'"
        % SEG_TEAM,
    ),
    (
        "workload",
        "workloadId",
        "SELECT workload_id FROM workload WHERE agent_id = :agent",
        "SELECT workload_id FROM workload WHERE segment_id IN (%s)" % SEG_TEAM,
    ),
    (
        "supervisors",
        "supervisorId",
        "SELECT DISTINCT supervisor_id FROM assessments WHERE agent_id = :agent",
        "SELECT supervisor_id FROM supervisors",
    ),
]


async def _all_keys(gw: Gateway, connection: str, key: str) -> tuple[set[str], int]:
    """Every key of a root connection, paging through it, and its totalCount."""
    seen: set[str] = set()
    after = None
    total = None
    while True:
        data = await gw.query(
            "query($after: String) { %s(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { %s } } }"
            % (connection, key),
            {"after": after},
        )
        page = data[connection]
        total = page["totalCount"]
        seen.update(n[key] for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return seen, total
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize(("connection", "key", "agent_sql", "team_sql"), EXPECTED)
async def test_root_connection_shows_an_agent_only_their_rows(
    agent_gw: Gateway, small_engine: AsyncEngine, world: World, connection: str, key: str,
    agent_sql: str, team_sql: str,
) -> None:  # fmt: skip
    expected = await keys(small_engine, agent_sql, agent=world.me)
    seen, total = await _all_keys(agent_gw, connection, key)
    assert expected, "the fixture should give the agent some rows"
    assert seen == expected
    assert total == len(expected)


@pytest.mark.parametrize(("connection", "key", "agent_sql", "team_sql"), EXPECTED)
async def test_root_connection_shows_a_supervisor_only_their_teams(
    supervisor_gw: Gateway, small_engine: AsyncEngine, world: World, connection: str, key: str,
    agent_sql: str, team_sql: str,
) -> None:  # fmt: skip
    expected = await keys(small_engine, team_sql, team=world.my_team)
    seen, total = await _all_keys(supervisor_gw, connection, key)
    assert expected
    assert seen == expected
    assert total == len(expected)


async def test_reference_data_is_visible_to_every_role(agent_gw: Gateway, gw: Gateway) -> None:
    query = "{ teams { totalCount } departments { totalCount } queues { totalCount } campaigns { totalCount } }"
    assert await agent_gw.query(query) == await gw.query(query)


async def _other_agents_rows(engine: AsyncEngine, other: str) -> dict[str, str]:
    """One row of each kind that belongs to the other agent only."""
    (segment,) = await rows(
        engine,
        "SELECT segment_id, conversation_id FROM segments WHERE agent_id = :a AND conversation_id IS NOT NULL LIMIT 1",
        a=other,
    )
    (assessment,) = await rows(
        engine, "SELECT assessment_id FROM assessments WHERE agent_id = :a LIMIT 1", a=other
    )
    return {
        "Segment": segment["segment_id"],
        "Agent": other,
        "Assessment": assessment["assessment_id"],
    }


async def test_node_out_of_scope_reads_like_a_missing_one(
    agent_gw: Gateway, small_engine: AsyncEngine, world: World
) -> None:
    theirs = await _other_agents_rows(small_engine, world.other)
    ids = [gid(t, k) for t, k in theirs.items()]
    missing = [gid(t, "does-not-exist") for t in theirs]
    result = await agent_gw.execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids + missing}
    )
    assert result.data == {"nodes": [None] * (len(ids) + len(missing))}
    assert result.errors is not None
    messages = sorted(e.message.split("'")[0] for e in result.errors)
    # the same wording for existing-but-hidden and missing rows: nothing tells them apart
    assert messages == sorted([f"No {t} " for t in theirs] * 2)
    assert {tuple(e.path) for e in result.errors} == {("nodes", i) for i in range(len(ids) * 2)}  # type: ignore[arg-type]


async def test_node_in_scope_is_served(agent_gw: Gateway, world: World) -> None:
    data = await agent_gw.query(
        'query($id: ID!) { node(id: $id) { ... on Agent { agentId } } agent(agentId: "%s") { agentId } }'
        % world.me,
        {"id": gid("Agent", world.me)},
    )
    assert data == {"node": {"agentId": world.me}, "agent": {"agentId": world.me}}


@pytest.mark.parametrize(
    ("field", "type_name", "argument"),
    [
        ("segment", "Segment", "segmentId"),
        ("agent", "Agent", "agentId"),
        ("assessment", "Assessment", "assessmentId"),
    ],
)
async def test_lookup_by_key_out_of_scope_is_null_with_error(
    agent_gw: Gateway,
    small_engine: AsyncEngine,
    world: World,
    field: str,
    type_name: str,
    argument: str,
) -> None:
    theirs = await _other_agents_rows(small_engine, world.other)
    result = await agent_gw.execute(
        '{ %s(%s: "%s") { id } }' % (field, argument, theirs[type_name])
    )
    assert result.data == {field: None}
    assert result.errors and result.errors[0].message.startswith(f"No {type_name} ")


# nested relationships: from every reachable parent, the children are only the viewer's
NESTED = [
    (
        "conversations(first: 20) { nodes { segments(first: 50) { totalCount nodes { agent { agentId } } } } }",
        "conversations",
    ),
    ("teams(first: 50) { nodes { agents(first: 50) { totalCount nodes { agentId } } } }", "teams"),
    (
        "departments(first: 50) { nodes { agents(first: 50) { totalCount nodes { agentId } } } }",
        "departments",
    ),
    (
        "queues(first: 50) { nodes { segments(first: 50) { totalCount nodes { agent { agentId } } } } }",
        "queues",
    ),
    (
        "queues(first: 50) { nodes { conversations(first: 50) { totalCount nodes { segments(first: 50) { nodes { agent { agentId } } } } } } }",
        "queues",
    ),
    (
        "customers(first: 20) { nodes { segments(first: 50) { totalCount nodes { agent { agentId } } } } }",
        "customers",
    ),
    (
        "customers(first: 20) { nodes { conversations(first: 50) { nodes { segments(first: 50) { nodes { agent { agentId } } } } } } }",
        "customers",
    ),
    (
        "campaigns(first: 20) { nodes { conversations(first: 50) { totalCount nodes { segments(first: 50) { nodes { agent { agentId } } } } } } }",
        "campaigns",
    ),
    (
        "campaigns(first: 20) { nodes { cases(first: 50) { nodes { conversations(first: 50) { nodes { segments(first: 50) { nodes { agent { agentId } } } } } } } } }",
        "campaigns",
    ),
    (
        "supervisors(first: 20) { nodes { assessments(first: 50) { totalCount nodes { agent { agentId } } } } }",
        "supervisors",
    ),
    (
        "agents { nodes { segments(first: 50) { nodes { agent { agentId } } } assessments(first: 50) { nodes { agent { agentId } } } workload(first: 50) { nodes { agent { agentId } } } conversations(first: 20) { nodes { segments(first: 50) { nodes { agent { agentId } } } } } } }",
        "agents",
    ),
    (
        "segments(first: 50) { nodes { agent { agentId } precededBy { agent { agentId } } assessments(first: 10) { nodes { agent { agentId } } } workload(first: 10) { nodes { agent { agentId } } } conversation { segments(first: 50) { nodes { agent { agentId } } } } } }",
        "segments",
    ),
    (
        "assessments(first: 50) { nodes { agent { agentId } segment { agent { agentId } } } }",
        "assessments",
    ),
    (
        "workload(first: 50) { nodes { agent { agentId } segment { agent { agentId } } } }",
        "workload",
    ),
]


def _agent_ids(value: Any) -> set[str]:
    """Every `agentId` anywhere in a result."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "agentId" and v is not None:
                found.add(v)
            else:
                found |= _agent_ids(v)
    elif isinstance(value, list):
        for item in value:
            found |= _agent_ids(item)
    return found


@pytest.mark.parametrize(("query", "root"), NESTED)
async def test_nested_paths_reach_only_the_agents_own_rows(
    agent_gw: Gateway, gw: Gateway, world: World, query: str, root: str
) -> None:
    data = await agent_gw.query("{ %s }" % query)
    assert _agent_ids(data) == {world.me}
    # the same query as admin reaches other agents: the path itself does lead to them
    assert len(_agent_ids(await gw.query("{ %s }" % query))) > 1


async def test_nested_counts_are_scoped(
    agent_gw: Gateway, small_engine: AsyncEngine, world: World
) -> None:
    data = await agent_gw.query(
        '{ team(teamId: "%s") { agents { totalCount } } queues(first: 100) { nodes { segments { totalCount } } } }'
        % world.my_team
    )
    assert data["team"]["agents"]["totalCount"] == 1
    queued = await rows(
        small_engine,
        "SELECT COUNT(*) AS n FROM segments WHERE agent_id = :a AND queue IS NOT NULL",
        a=world.me,
    )
    assert sum(q["segments"]["totalCount"] for q in data["queues"]["nodes"]) == queued[0]["n"]


async def test_filter_through_a_link_cannot_reach_other_rows(
    supervisor_gw: Gateway, gw: Gateway, world: World
) -> None:
    query = '{ assessments(filter: {agent: {agentId: {eq: "%s"}}}) { totalCount } }' % world.other
    assert (await gw.query(query))["assessments"]["totalCount"] > 0
    # the supervisor's own assessments could name another team's agent: none are theirs here
    assert (await supervisor_gw.query(query))["assessments"]["totalCount"] == 0


# --- metrics ------------------------------------------------------------------------------------


async def test_metrics_on_entities_count_only_the_agents_work(
    agent_gw: Gateway, small_engine: AsyncEngine, world: World
) -> None:
    mine = (
        await rows(
            small_engine, "SELECT COUNT(*) AS n FROM segments WHERE agent_id = :a", a=world.me
        )
    )[0]["n"]
    data = await agent_gw.query(
        '{ team(teamId: "%s") { metrics { segments } } other: team(teamId: "%s") { metrics { segments } }'
        ' agent(agentId: "%s") { metrics { segments } } queues(first: 100) { nodes { metrics { segments } } }'
        " departments { nodes { metrics { segments } } } campaigns(first: 100) { nodes { metrics { segments } } } }"
        % (world.my_team, world.other_team, world.me)
    )
    assert data["agent"]["metrics"]["segments"] == mine
    handled_in_my_team = (
        await rows(
            small_engine,
            "SELECT COUNT(*) AS n FROM segments WHERE agent_id = :a AND handling_team_id = :t",
            a=world.me,
            t=world.my_team,
        )
    )[0]["n"]
    assert data["team"]["metrics"]["segments"] == handled_in_my_team
    assert data["other"]["metrics"]["segments"] <= mine - handled_in_my_team
    assert sum(q["metrics"]["segments"] for q in data["queues"]["nodes"]) <= mine
    assert sum(d["metrics"]["segments"] for d in data["departments"]["nodes"]) == mine


async def test_metrics_of_another_team_are_empty_for_a_supervisor(
    supervisor_gw: Gateway, gw: Gateway, world: World
) -> None:
    query = '{ team(teamId: "%s") { metrics { segments conversations } } }' % world.other_team
    assert (await gw.query(query))["team"]["metrics"]["segments"] > 0
    assert (await supervisor_gw.query(query))["team"]["metrics"] == {
        "segments": 0,
        "conversations": 0,
    }


# --- contact fields -----------------------------------------------------------------------------


async def test_customer_contact_fields_are_hidden_from_agents(
    agent_gw: Gateway, supervisor_gw: Gateway, small_engine: AsyncEngine, world: World
) -> None:
    query = "{ customers(first: 100) { nodes { name phone email } } conversations(first: 20) { nodes { customer { phone email } } } }"
    data = await agent_gw.query(query)
    customers = data["customers"]["nodes"]
    assert customers and all(c["phone"] is None and c["email"] is None for c in customers)
    assert any(c["name"] for c in customers)
    assert all(
        c["customer"] is None or c["customer"]["phone"] is None
        for c in data["conversations"]["nodes"]
    )
    phones = [c["phone"] for c in (await supervisor_gw.query(query))["customers"]["nodes"]]
    assert any(phones), "supervisors see contact fields"


async def test_contact_fields_shown_to_agents_when_allowed(
    small_engine: AsyncEngine, world: World
) -> None:
    viewer = Viewer(Role.AGENT, "agent-user", agent_id=world.me, show_contacts=True)
    data = await Gateway(small_engine, viewer=viewer).query(
        "{ customers(first: 100) { nodes { phone } } }"
    )
    assert any(c["phone"] for c in data["customers"]["nodes"])


@pytest.mark.parametrize(
    "query",
    [
        '{ customers(filter: {phone: {startsWith: "+"}}) { totalCount } }',
        '{ segments(filter: {customer: {email: {contains: "@"}}}) { totalCount } }',
        "{ customers(orderBy: [{field: PHONE, direction: ASC}]) { totalCount } }",
        "{ customers(orderBy: [{field: EMAIL, direction: ASC}]) { nodes { name } } }",
        "{ conversations(first: 1) { nodes { customer { segments(filter: {customer: {phone: {isNull: false}}}) { totalCount } } } } }",
    ],
)
async def test_filtering_or_ordering_on_hidden_fields_is_refused(
    agent_gw: Gateway, query: str
) -> None:
    messages = await agent_gw.errors(query)
    assert any("hidden for your role" in m for m in messages)


def test_entities_without_a_rule_are_denied_to_restricted_viewers() -> None:
    from sqlalchemy.sql.elements import False_

    from resolvers.scope import visible

    assert isinstance(visible(Viewer(Role.AGENT, "a", agent_id="x"), "DeadLetter"), False_)
    assert not isinstance(visible(Viewer.system(), "DeadLetter"), False_)


SHAPE = """{ conversations(first: %d) { totalCount nodes { customer { name } segments(first: 5) {
  totalCount nodes { agent { fullName team { name } } assessments { nodes { score } } } } } } }"""


async def test_scope_adds_no_statements(agent_gw: Gateway, gw: Gateway) -> None:
    counts = []
    for runner in (gw, agent_gw):
        for size in (10, 40):
            with runner.counting() as statements:
                await runner.query(SHAPE % size)
            counts.append(len(statements))
    # the page writes its rows' JSON for both: customers joined (for the agent, the rows it may
    # see), each conversation's segments page and its count, their agents, teams and
    # assessments, correlated subqueries; then the root count
    assert counts == [2, 2, 2, 2], counts


@pytest.mark.parametrize(("query", "root"), NESTED)
async def test_nested_paths_reach_only_the_supervisors_teams(
    supervisor_gw: Gateway,
    gw: Gateway,
    small_engine: AsyncEngine,
    world: World,
    query: str,
    root: str,
) -> None:
    allowed = await keys(
        small_engine,
        "SELECT agent_id FROM agents WHERE team_id = :t UNION SELECT agent_id FROM segments WHERE handling_team_id = :t AND agent_id IS NOT NULL",
        t=world.my_team,
    )
    reached = _agent_ids(await supervisor_gw.query("{ %s }" % query))
    assert reached and reached <= allowed
    assert _agent_ids(await gw.query("{ %s }" % query)) - allowed, "as admin the path leads further"


async def test_supervisor_nodes_outside_their_teams_are_unreachable(
    supervisor_gw: Gateway, small_engine: AsyncEngine, world: World
) -> None:
    (theirs,) = await rows(
        small_engine,
        "SELECT segment_id FROM segments WHERE handling_team_id = :t LIMIT 1",
        t=world.other_team,
    )
    (mine,) = await rows(
        small_engine,
        "SELECT segment_id FROM segments WHERE handling_team_id = :t LIMIT 1",
        t=world.my_team,
    )
    ids = [
        gid("Segment", theirs["segment_id"]),
        gid("Agent", world.other),
        gid("Segment", mine["segment_id"]),
    ]
    result = await supervisor_gw.execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}
    )
    assert result.data == {"nodes": [None, None, {"id": ids[2]}]}
    assert result.errors is not None
    assert sorted(tuple(e.path) for e in result.errors) == [("nodes", 0), ("nodes", 1)]  # type: ignore[arg-type]


METRIC_ROOTS = [
    "agents",
    "campaigns",
    "cases",
    "conversations",
    "customers",
    "departments",
    "initiatives",
    "projects",
    "queues",
    "teams",
]


@pytest.mark.parametrize("connection", METRIC_ROOTS)
async def test_metrics_on_every_entity_count_only_the_agents_segments(
    agent_gw: Gateway, gw: Gateway, small_engine: AsyncEngine, world: World, connection: str
) -> None:
    mine = (
        await rows(
            small_engine, "SELECT COUNT(*) AS n FROM segments WHERE agent_id = :a", a=world.me
        )
    )[0]["n"]
    query = "{ %s(first: 100) { nodes { metrics { segments } } } }" % connection
    seen = sum(n["metrics"]["segments"] for n in (await agent_gw.query(query))[connection]["nodes"])
    assert 0 < seen <= mine
    everyone = sum(n["metrics"]["segments"] for n in (await gw.query(query))[connection]["nodes"])
    assert everyone > mine, "the same path reaches other agents' work as admin"


REPORT = """{ report(groupBy: [QUEUE], orderBy: [{dimension: QUEUE}]) {
  rows { key { queue } metrics { segments workloadTalkTime assessments }
         segments(first: 100) { totalCount nodes { agent { agentId } } } }
  total { segments workloadTalkTime assessments } } }"""


async def test_report_rows_totals_and_drill_downs_cover_only_the_agents_work(
    agent_gw: Gateway, small_engine: AsyncEngine, world: World
) -> None:
    """Every data set of a report is bounded by the viewer's segments, the total and drill-downs
    too; workload and assessments are counted through the segments they belong to."""
    expected = (
        await rows(
            small_engine,
            """SELECT
                 (SELECT COUNT(*) FROM segments WHERE agent_id = :a) AS segments,
                 (SELECT COALESCE(SUM(w.talk_time), 0) FROM workload w
                    JOIN segments s ON s.segment_id = w.segment_id WHERE s.agent_id = :a) AS talk,
                 (SELECT COUNT(*) FROM assessments x JOIN segments s ON s.segment_id = x.segment_id
                    WHERE s.agent_id = :a AND x.type = 'ASSESSMENT') AS assessed""",
            a=world.me,
        )
    )[0]
    data = (await agent_gw.query(REPORT))["report"]
    assert data["total"] == {
        "segments": expected["segments"],
        "workloadTalkTime": expected["talk"],
        "assessments": expected["assessed"],
    }
    assert sum(r["metrics"]["segments"] for r in data["rows"]) <= expected["segments"]
    for row in data["rows"]:
        assert row["segments"]["totalCount"] == row["metrics"]["segments"]
        assert {n["agent"]["agentId"] for n in row["segments"]["nodes"]} <= {world.me}


async def test_dead_letters_are_for_admins_only(
    agent_gw: Gateway, supervisor_gw: Gateway, gw: Gateway
) -> None:
    query = "{ deadLetters { totalCount nodes { raw } } }"
    assert "deadLetters" in await gw.query(query)
    for restricted in (agent_gw, supervisor_gw):
        messages = await restricted.errors(query)
        assert messages == ["Dead letters are for administrators."]
