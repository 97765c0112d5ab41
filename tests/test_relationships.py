"""Every link of the data model, both ways, agrees with the foreign keys in the warehouse."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from resolvers.entities import ENTITIES, ToMany
from tests.conftest import Gateway
from tests.helpers import camel, gid, table_rows

TO_ONE = [(owner, link) for owner, e in ENTITIES.items() for link in e.to_one]
TO_MANY = [(owner, link) for owner, e in ENTITIES.items() for link in e.to_many]


async def _expected_children(gw: Gateway, link: ToMany) -> dict[Any, set[Any]]:
    """Parent key → target keys, computed in Python from the raw rows."""
    target = ENTITIES[link.target]
    found: dict[Any, set[Any]] = defaultdict(set)
    if link.via_column is not None:
        for row in await table_rows(gw.engine, link.target):
            if row[link.via_column] is not None:
                found[row[link.via_column]].add(row[target.key])
        return found
    assert link.through is not None and link.through_parent and link.through_target
    through = next(e for e in ENTITIES.values() if e.table is link.through)
    for row in await table_rows(gw.engine, through.name):
        if row[link.through_parent] is not None and row[link.through_target] is not None:
            found[row[link.through_parent]].add(row[link.through_target])
    return found


@pytest.mark.parametrize(("owner", "link"), TO_MANY, ids=[f"{o}.{n}" for o, n in TO_MANY])
async def test_to_many_link_lists_exactly_the_linked_rows(
    gw: Gateway, owner: str, link: str
) -> None:
    ent = ENTITIES[owner]
    to_many = ent.to_many[link]
    target = ENTITIES[to_many.target]
    expected = await _expected_children(gw, to_many)
    assert expected, f"the demo data has no {owner}.{link}"
    # the parents with the most children, so pages are full, plus one with none
    parents = sorted(expected, key=lambda k: (-len(expected[k]), str(k)))[:3]
    query = """
      query($ids: [ID!]!) { nodes(ids: $ids) { ... on %s { %s(first: 100) {
        totalCount nodes { %s } } } } }
    """ % (owner, camel(link), camel(target.key))
    data = await gw.query(query, {"ids": [gid(owner, str(p)) for p in parents]})
    for parent, node in zip(parents, data["nodes"], strict=True):
        connection = node[camel(link)]
        assert connection["totalCount"] == len(expected[parent])
        got = {n[camel(target.key)] for n in connection["nodes"]}
        assert got == set(sorted(expected[parent])[:100]) or len(expected[parent]) > 100
        assert got <= expected[parent]


@pytest.mark.parametrize(("owner", "link"), TO_ONE, ids=[f"{o}.{n}" for o, n in TO_ONE])
async def test_to_one_link_follows_the_foreign_key(gw: Gateway, owner: str, link: str) -> None:
    ent = ENTITIES[owner]
    to_one = ent.to_one[link]
    target = ENTITIES[to_one.target]
    children = await table_rows(gw.engine, owner)
    with_link = [r for r in children if r[to_one.column] is not None][:20]
    without = [r for r in children if r[to_one.column] is None][:5]
    assert with_link, f"the demo data has no {owner}.{link}"
    sample = with_link + without
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on %s { %s { %s } } } }" % (
        owner, camel(link), camel(target.key),
    )  # fmt: skip
    data = await gw.query(query, {"ids": [gid(owner, str(r[ent.key])) for r in sample]})
    for row, node in zip(sample, data["nodes"], strict=True):
        linked = node[camel(link)]
        if row[to_one.column] is None:
            assert linked is None
        else:
            assert linked == {camel(target.key): row[to_one.column]}


async def test_followed_by_is_the_reverse_of_preceded_by(gw: Gateway) -> None:
    segments = await table_rows(gw.engine, "Segment")
    linked = [r for r in segments if r["preceded_by_id"] is not None][:30]
    assert linked
    query = (
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Segment { followedBy { segmentId } } } }"
    )
    data = await gw.query(query, {"ids": [gid("Segment", r["preceded_by_id"]) for r in linked]})
    for row, node in zip(linked, data["nodes"], strict=True):
        assert node["followedBy"] == {"segmentId": row["segment_id"]}


async def test_segment_reaches_case_campaign_project_and_initiative(gw: Gateway) -> None:
    conversations = {r["conversation_id"]: r for r in await table_rows(gw.engine, "Conversation")}
    campaigns = {r["campaign_id"]: r for r in await table_rows(gw.engine, "Campaign")}
    projects = {r["project_id"]: r for r in await table_rows(gw.engine, "Project")}
    segments = [
        r for r in await table_rows(gw.engine, "Segment")
        if r["conversation_id"] and conversations[r["conversation_id"]]["campaign_id"]
    ][:25]  # fmt: skip
    assert segments
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Segment {
      case { caseId } campaign { campaignId } project { projectId } initiative { initiativeId }
    } } }"""
    data = await gw.query(query, {"ids": [gid("Segment", r["segment_id"]) for r in segments]})
    for row, node in zip(segments, data["nodes"], strict=True):
        conversation = conversations[row["conversation_id"]]
        campaign = campaigns[conversation["campaign_id"]]
        project = projects[campaign["project_id"]]
        assert node["campaign"] == {"campaignId": campaign["campaign_id"]}
        assert node["project"] == {"projectId": project["project_id"]}
        assert node["initiative"] == {"initiativeId": project["initiative_id"]}
        expected_case = conversation["case_id"]
        assert node["case"] == (None if expected_case is None else {"caseId": expected_case})


async def test_conversation_segments_are_ordered_by_segment_order_then_start(gw: Gateway) -> None:
    data = await gw.query(
        "{ conversations(first: 40) { nodes { segments(first: 100) { nodes { segmentOrder startedAt } } } } }"
    )
    for conversation in data["conversations"]["nodes"]:
        keys = [
            (s["segmentOrder"] is None, s["segmentOrder"] or 0, s["startedAt"])
            for s in conversation["segments"]["nodes"]
        ]
        assert keys == sorted(keys)
