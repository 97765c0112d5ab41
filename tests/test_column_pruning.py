"""Statements select only the columns a document reads (`schema/columns.py`), and answers are
the same as with whole rows: every field of every entity type is asked for alone (so its row is
pruned to what that field declares it reads) on a root page, and fields together on nested pages
and through links, with pruning on and off.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type, is_required_argument
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.fields as fields
from resolvers.context import Options
from schema.columns import _reads
from tests.conftest import SCHEMA, Gateway


@pytest.fixture
def gw(small_engine: AsyncEngine) -> Gateway:
    """The object path, whose rows these tests prune (rows the database answers as JSON select
    their shape's columns: `tests/test_json_rows.py`)."""
    return Gateway(small_engine, Options(json_rows=False))


GRAPHQL_TYPES = SCHEMA._schema.type_map


def field_selections(type_name: str) -> list[str]:
    """A selection of each field of `type_name` that needs no argument (objects by id).

    Fields that declare no columns (metrics, computed fields) are left out: they read whole
    rows, so with them nothing would be pruned and nothing tested.
    """
    object_type = GRAPHQL_TYPES[type_name]
    assert isinstance(object_type, GraphQLObjectType)
    selections = []
    for name, definition in object_type.fields.items():
        if any(is_required_argument(a) for a in definition.args.values()):
            continue
        if _reads(type_name)[name] is None:
            continue
        target = get_named_type(definition.type)
        if is_leaf_type(target):
            selections.append(name)
        elif name.endswith("s") and "totalCount" in getattr(target, "fields", {}):
            selections.append(f"{name}(first: 2) {{ totalCount nodes {{ id }} }}")
        elif "id" in getattr(target, "fields", {}):
            selections.append(f"{name} {{ id }}")
        else:  # a value object such as a date dimension: its leaves
            leaves = [
                n
                for n, f in target.fields.items()  # type: ignore[union-attr]
                if is_leaf_type(get_named_type(f.type))
                and not any(is_required_argument(a) for a in f.args.values())
            ]
            selections.append(f"{name} {{ {' '.join(leaves)} }}")
    return selections


def every_field(type_name: str) -> str:
    return " ".join(field_selections(type_name))


def root_field(type_name: str) -> str:
    query_type = SCHEMA._schema.query_type
    assert query_type is not None
    for name, definition in query_type.fields.items():
        if get_named_type(definition.type).name == f"{type_name}Connection":
            return name
    raise AssertionError(f"no root connection of {type_name}")


TYPES = [
    "Segment",
    "Conversation",
    "Agent",
    "Customer",
    "Case",
    "Team",
    "Assessment",
    "WorkloadItem",
]


async def pruned_and_whole(gw: Gateway, document: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The document's data with pruned rows and with whole rows."""
    with gw.counting() as pruned_statements:
        pruned = await gw.query(document)
    with monkeypatch.context() as m, gw.counting() as whole_statements:
        m.setattr(fields, "columns_read", lambda *_: None)
        whole = await gw.query(document)
    # the page statement did leave columns out, so the comparison means something
    assert len(pruned_statements[0]) < len(whole_statements[0])
    return pruned, whole


@pytest.mark.parametrize("type_name", TYPES)
async def test_each_field_reads_the_same_from_a_pruned_row(
    gw: Gateway, type_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = root_field(type_name)
    for selection in field_selections(type_name):
        for page in ("nodes { %s }", "edges { cursor node { %s } }"):
            document = "{ %s(last: 4) { %s } }" % (root, page % selection)
            pruned, whole = await pruned_and_whole(gw, document, monkeypatch)
            assert pruned == whole, document
            assert pruned[root][page.split()[0]], document  # not an empty page


async def test_nested_pages_and_links_read_the_same_with_pruned_rows(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = """
    { conversations(first: 8) { nodes { conversationId
        segments(first: 5) { nodes { %s agent { %s } customer { %s } conversation { %s } } } } } }
    """ % tuple(every_field(t) for t in ("Segment", "Agent", "Customer", "Conversation"))
    pruned, whole = await pruned_and_whole(gw, document, monkeypatch)
    assert pruned == whole


async def test_statements_select_only_what_the_document_reads(gw: Gateway) -> None:
    with gw.counting() as statements:
        await gw.query(
            "{ conversations(first: 3) { nodes { direction segments(first: 2) { nodes { queue "
            "conversation { endedAt } } } } } }"
        )
    page, segments = statements  # the link is joined to the segments
    assert "direction" in page and "case_id" not in page
    assert "queue" in segments and "talk_time" not in segments and "conversation_id" in segments
    assert "j0_ended_at" in segments
    assert "j0_direction" not in segments and "j0_case_id" not in segments
    with gw.counting() as statements:
        await gw.query(
            "{ agents(first: 3) { nodes { segments(first: 2) { nodes { talkTime } } } } }"
        )
    assert "talk_time" in statements[1] and "queue" not in statements[1]


JOINED = """
query ($withCustomer: Boolean!) {
  conversations(first: 12, orderBy: [{field: STARTED_AT, direction: DESC}]) {
    nodes { conversationId customer { name } case { caseId }
      segments(first: 4) { edges { cursor node { segmentId
        agent { fullName team { name department { name } } }
        customer @include(if: $withCustomer) { customerId phone }
        precededBy { segmentId kind agent { agentId } }
        a: handlingTeam { name } b: handlingTeam { teamId }
        assessments(first: 2) { nodes { score supervisor { name } segment { segmentId } } } } } } } }
  agents(last: 5) { nodes { agentId team { name } department { departmentId } } }
}
"""


@pytest.mark.parametrize("with_customer", [True, False])
async def test_joined_links_read_the_same_as_loaded_links(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, with_customer: bool
) -> None:
    """Links loaded with their page (LEFT JOIN) answer like links loaded by their own loaders:
    nested links inside them, a self link, aliases, a skipped link, missing links."""
    variables = {"withCustomer": with_customer}
    with gw.counting() as joined_statements:
        joined = await gw.query(JOINED, variables)
    with monkeypatch.context() as m, gw.counting() as loaded_statements:
        m.setattr(fields, "joins", lambda *_: ())
        loaded = await gw.query(JOINED, variables)
    assert joined == loaded
    assert len(joined_statements) < len(loaded_statements)
    segments = [e["node"] for c in joined["conversations"]["nodes"] for e in c["segments"]["edges"]]
    assert any(s["precededBy"] for s in segments) and any(not s["precededBy"] for s in segments)
    assert any(s["agent"] for s in segments) and any(not s["agent"] for s in segments)
