"""Every data set's root connection and lookup serve every attribute as stored."""

from __future__ import annotations

import pytest
from graphql import GraphQLEnumType, GraphQLScalarType, get_named_type

from resolvers.entities import ENTITIES
from schema import build_schema
from tests.conftest import Gateway
from tests.helpers import as_json, camel, gid, table_rows

ROOTS = {
    "Segment": "segments", "Conversation": "conversations", "Case": "cases",
    "Campaign": "campaigns", "Project": "projects", "Initiative": "initiatives",
    "Agent": "agents", "Team": "teams", "Department": "departments", "Customer": "customers",
    "Supervisor": "supervisors", "Assessment": "assessments", "WorkloadItem": "workload",
    "Queue": "queues",
}  # fmt: skip
LOOKUPS = {"WorkloadItem": "workloadItem"}
# attributes computed from settings rather than read from a column (tests/test_sla_per_queue.py)
COMPUTED = {("Queue", "slaThreshold")}


def _attributes(type_name: str) -> list[str]:
    gtype = build_schema()._schema.type_map[type_name]
    return [
        name
        for name, field in gtype.fields.items()  # type: ignore[union-attr]
        if isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType)
        and not field.args
        and name != "id"
        and (type_name, name) not in COMPUTED
    ]


@pytest.mark.parametrize("type_name", ROOTS)
async def test_root_connection_serves_every_attribute(gw: Gateway, type_name: str) -> None:
    ent = ENTITIES[type_name]
    attributes = _attributes(type_name)
    key = camel(ent.key)
    query = "{ %s(first: 100, orderBy: [{field: %s}]) { totalCount nodes { id %s } } }" % (
        ROOTS[type_name], ent.key.upper(), " ".join(attributes),
    )  # fmt: skip
    data = (await gw.query(query))[ROOTS[type_name]]
    rows = sorted(await table_rows(gw.engine, type_name), key=lambda r: r[ent.key])
    assert rows, f"the demo data has no {type_name}"
    assert data["totalCount"] == len(rows)
    assert len(data["nodes"]) == min(100, len(rows))
    for node, row in zip(data["nodes"], rows, strict=False):
        assert node["id"] == gid(type_name, row[ent.key])
        for attribute in attributes:
            assert node[attribute] == as_json(row[_column(attribute)]), (type_name, attribute)
    assert key in attributes


def _column(attribute: str) -> str:
    import re

    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[a-z])(?=[0-9])", "_", attribute).lower()


@pytest.mark.parametrize("type_name", ROOTS)
async def test_lookup_by_natural_key_and_node(gw: Gateway, type_name: str) -> None:
    ent = ENTITIES[type_name]
    row = sorted(await table_rows(gw.engine, type_name), key=lambda r: r[ent.key])[-1]
    lookup = LOOKUPS.get(type_name, type_name[0].lower() + type_name[1:])
    argument = camel(ent.key)
    key_field = camel(ent.key)
    query = """query($key: String!, $id: ID!) {
      byKey: %s(%s: $key) { id %s }
      byNode: node(id: $id) { id ... on %s { %s } }
      missing: %s(%s: "no-such-key") { id }
    }""" % (lookup, argument, key_field, type_name, key_field, lookup, argument)
    data = await gw.query(query, {"key": row[ent.key], "id": gid(type_name, row[ent.key])})
    expected = {"id": gid(type_name, row[ent.key]), key_field: row[ent.key]}
    assert data == {"byKey": expected, "byNode": expected, "missing": None}
