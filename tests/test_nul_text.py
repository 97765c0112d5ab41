"""A NUL character (U+0000) in a text argument is the client's mistake on both engines, not an
internal error on PostgreSQL (whose text type cannot hold it)."""

from __future__ import annotations

from typing import Any

import pytest

from schema.nul_text import MESSAGE
from tests.conftest import Gateway

DOCUMENTS = [
    ('{ workloadItem(workloadId: "w\\u0000") { id } }', None),
    ('{ segments(filter: {queue: {in: ["a", "b\\u{0}"]}}) { totalCount } }', None),
    (
        "query ($q: String) { segments(filter: {queue: {eq: $q}}) { totalCount } }",
        {"q": "sales\x00"},
    ),
    (
        "query ($f: SegmentFilter) { segments(filter: $f) { totalCount } }",
        {"f": {"queue": {"in": ["sales", "\x00"]}}},
    ),
]


@pytest.mark.parametrize(("query", "variables"), DOCUMENTS)
async def test_nul_in_text_is_bad_user_input(
    gw: Gateway, query: str, variables: dict[str, Any] | None
) -> None:
    result = await gw.execute(query, variables)
    assert result.data is None
    assert [(e.message, (e.extensions or {}).get("code")) for e in result.errors or []] == [
        (MESSAGE, "BAD_USER_INPUT")
    ]


async def test_escapes_without_nul_still_run(gw: Gateway) -> None:
    data = await gw.query('{ segments(filter: {queue: {eq: "\\u0041\\u{42}"}}) { totalCount } }')
    assert data["segments"]["totalCount"] == 0
