"""The command line answers a bad setting or database with one clear line and status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main


def test_bad_database_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--segments", "10", "--database", "nonsense://x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("insights-gateway demo: bad database URL") and "Traceback" not in err


def test_bad_setting_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("INSIGHTS_TIMEZONE", "Mars/Base")
    database = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert main(["demo", "--segments", "10", "--database", database]) == 2
    err = capsys.readouterr().err
    assert "bad setting: timezone" in err and "Mars/Base" in err


def test_unreachable_database(tmp_path: Path) -> None:
    # in a process of its own: the driver's thread outlives the failed connection's event loop
    database = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "db", "upgrade", "--database", database],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "database error: unable to open database file" in result.stderr
    assert "Traceback" not in result.stderr
