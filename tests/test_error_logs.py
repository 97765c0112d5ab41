"""The log tells a client's mistake (INFO, one line, no traceback) from our fault (ERROR, traceback)."""

from __future__ import annotations

import logging

import httpx
import pytest

import schema.query

# the access line of every request, and the test client's own
NOT_ABOUT_ERRORS = ("insights_gateway.access", "httpx", "httpcore")


def about_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if not r.name.startswith(NOT_ABOUT_ERRORS)]


MISTAKES = [
    "{ agents(frist: 2) { totalCount } }",  # a typo: validation
    "{ agents { totalCount ",  # does not parse
    "{ segments(first: 1000) { totalCount } }",  # a refused argument
    '{ segments(filter: {queueTime: {eq: "long"}}) { totalCount } }',  # a wrong type
    '{ segments(after: "nope") { totalCount } agents { totalCount } }',
]


@pytest.mark.parametrize("query", MISTAKES)
async def test_a_client_mistake_is_one_info_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = (await client.post("/graphql", json={"query": query})).json()
    assert answer["errors"]
    records = about_errors(caplog)
    assert [(r.name, r.levelno) for r in records] == [("insights_gateway.errors", logging.INFO)]
    (record,) = records
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert answer["errors"][0]["extensions"]["code"] in record.getMessage()


async def test_a_fault_is_one_error_with_its_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> list[object]:
        raise RuntimeError("the catalog is gone")

    monkeypatch.setattr(schema.query, "definitions", broken)
    caplog.set_level(logging.DEBUG)
    answer = (
        await client.post("/graphql", json={"query": "{ metricDefinitions { name } }"})
    ).json()
    request_id = answer["errors"][0]["extensions"]["requestId"]
    records = about_errors(caplog)
    assert [r.levelno for r in records] == [logging.ERROR]
    (record,) = records
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert request_id in record.getMessage() and "metricDefinitions" in record.getMessage()
