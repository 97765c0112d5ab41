"""`keys list` is a table whose columns line up, whatever the ids, scopes and labels hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cli import main
from gateway.keys_cli import HEADERS, table

cell = st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), max_size=30)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(*[cell] * len(HEADERS)), max_size=6))
def test_every_column_starts_where_its_header_does(cells: list[tuple[str, ...]]) -> None:
    lines = table(HEADERS, cells)
    assert len(lines) == len(cells) + 1
    starts = [lines[0].index(header) for header in HEADERS]
    for line, row in zip(lines[1:], cells, strict=True):
        for start, value, end in zip(starts, row, [*starts[1:], None], strict=True):
            assert line[start:end].strip() == value


def test_keys_list_lines_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = ["--database", f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"]
    assert main(["db", "upgrade", *database]) == 0
    assert main(["keys", "list", *database]) == 0
    assert "No API keys yet" in capsys.readouterr().out
    for args in (
        ["--role", "admin", "--label", "BI export"],
        ["--role", "supervisor", "--team-id", "TM-with-a-long-name", "--team-id", "T2"],
        ["--role", "agent", "--agent-id", "WK1"],
    ):
        assert main(["keys", "create", "--allow-unknown", *args, *database]) == 0
    capsys.readouterr()
    assert main(["keys", "list", *database]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    role, who, created = (header.index(h) for h in ("ROLE", "AGENT/TEAMS", "CREATED (UTC)"))
    assert [line[role:who].strip() for line in lines] == ["admin", "supervisor", "agent"]
    assert [line[who:created].strip() for line in lines] == ["-", "TM-with-a-long-name T2", "WK1"]
    assert lines[0].endswith("BI export")
