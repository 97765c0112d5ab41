"""Every GraphQL block of the README runs against a demo like the one `make run` builds and answers.

The blocks are taken from README.md as written; `$dayStart`/`$dayEnd` get what GraphiQL fills in
(today, in the workspace time zone), today being the demo's last, still running day.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from graphql import OperationDefinitionNode, parse

from gateway.examples import day_variables
from tests.conftest import DEMO_NOW, NowDemo

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)
BLOCKS = BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
VARIABLES = day_variables(DEMO_NOW.date(), ZoneInfo("UTC"))


def _meaningful(value: Any) -> bool:
    """Some leaf below `value` is data (not null, zero, empty or false)."""
    if isinstance(value, dict):
        return any(_meaningful(v) for v in value.values())
    if isinstance(value, list):
        return any(_meaningful(v) for v in value)
    return value not in (None, 0, "", False)


def _variables(block: str) -> dict[str, str]:
    (operation,) = [d for d in parse(block).definitions if isinstance(d, OperationDefinitionNode)]
    names = {v.variable.name.value for v in operation.variable_definitions or ()}
    assert names <= set(VARIABLES), f"README blocks use only {sorted(VARIABLES)}"
    return {name: VARIABLES[name] for name in names}


def test_the_readme_has_graphql_blocks() -> None:
    assert len(BLOCKS) >= 3
    assert not any(re.search(r'"20\d\d-\d\d-\d\d', block) for block in BLOCKS), "no fixed dates"


def test_meaningful_sees_data_only_in_leaves_that_hold_some() -> None:
    assert not _meaningful({"a": [], "b": {"c": None, "d": 0}, "e": ""})
    assert _meaningful({"a": [{"b": 0}, {"b": 3}]})


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
async def test_readme_block_answers_with_data(now_demo: NowDemo, block: str) -> None:
    data = await now_demo.gateway().query(block, _variables(block))
    empty = [field for field, value in data.items() if not _meaningful(value)]
    assert empty == [], f"root fields without data: {empty}"
