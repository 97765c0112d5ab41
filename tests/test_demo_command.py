"""`insights-gateway demo`: built aside and renamed, kept while current, one line when stopped."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.dbcommands import CommandProblem
from gateway.demo_command import Wanted, parse_end, staleness
from warehouse.demo import DEMO_VERSION

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def _demo(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--quiet", "--database",
         f"sqlite+aiosqlite:///{db}", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env=os.environ | {"INSIGHTS_TIMEZONE": "UTC"},
    )  # fmt: skip


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _record(db: Path) -> dict[str, object]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM demo_runs").fetchone())


def test_refresh_builds_then_keeps_then_rebuilds_when_asked_for_another(tmp_path: Path) -> None:
    db = tmp_path / "insights.db"
    first = _demo(db, "--refresh", "--segments", "300", "--days", "1")
    assert first.returncode == 0, first.stderr
    assert _leftovers(tmp_path) == ["insights.db"]
    record = _record(db)
    assert (record["segments"], record["days"], record["version"]) == (300, 1, DEMO_VERSION)
    assert abs(int(str(record["ended_at"])) - time.time()) < 120, "the demo ends now"

    again = _demo(db, "--refresh", "--segments", "300", "--days", "1")
    assert again.returncode == 0 and "kept" in again.stdout
    assert _leftovers(tmp_path) == ["insights.db"], "looking leaves no -wal/-shm behind"
    assert _record(db) == record

    other = _demo(db, "--refresh", "--segments", "300", "--days", "2")
    assert other.returncode == 0, other.stderr
    assert "parameters changed (days 1 -> 2)" in other.stdout
    assert _record(db)["days"] == 2
    assert _leftovers(tmp_path) == ["insights.db"]


def test_refresh_replaces_a_database_without_a_recorded_demo(tmp_path: Path) -> None:
    db = tmp_path / "insights.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE segments (segment_id TEXT)")
    Path(f"{db}-wal").write_bytes(b"stale")  # an old journal must not be replayed on the new file
    result = _demo(db, "--refresh", "--segments", "200", "--days", "1")
    assert result.returncode == 0, result.stderr
    assert "holds no recorded demo" in result.stdout
    assert _record(db)["segments"] == 200
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").read_bytes() != b"stale"


def test_refresh_carries_the_api_keys_of_the_replaced_demo_over(tmp_path: Path) -> None:
    db = tmp_path / "insights.db"
    assert _demo(db, "--refresh", "--segments", "200", "--days", "1").returncode == 0
    made = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "create", "--role", "admin", "--label", "BI",
         "--database", f"sqlite+aiosqlite:///{db}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = _demo(db, "--refresh", "--segments", "200", "--days", "2")
    assert result.returncode == 0, result.stderr
    assert "1 API key(s)" in result.stdout
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT label FROM api_keys").fetchall() == [("BI",)]
        assert conn.execute("SELECT days FROM demo_runs").fetchall() == [(2,)]


def test_a_build_stopped_with_ctrl_c_leaves_nothing_and_says_one_line(tmp_path: Path) -> None:
    db = tmp_path / "insights.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--quiet", "--segments", "400000",
         "--database", f"sqlite+aiosqlite:///{db}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    side = tmp_path / "insights.db.building"
    deadline = time.monotonic() + 120
    while not side.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert side.exists(), "the build goes into a side file"
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stderr.strip().splitlines() == ["insights-gateway demo: interrupted"]
    assert _leftovers(tmp_path) == []


def test_end_that_is_neither_a_day_nor_an_instant_is_one_line(tmp_path: Path) -> None:
    result = _demo(tmp_path / "x.db", "--end", "yesterday")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "insights-gateway demo: --end 'yesterday' is neither a day (2026-03-29) nor an instant "
        "(2026-03-29T14:30)"
    ]
    assert _leftovers(tmp_path) == []


def test_end_is_a_day_an_instant_in_the_zone_or_now() -> None:
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    assert parse_end("2026-03-29", london) == (date(2026, 3, 29), True)
    assert parse_end("2026-07-01T09:30", london) == (
        datetime(2026, 7, 1, 9, 30, tzinfo=london),
        True,
    )
    moment, fixed = parse_end(None, london)
    assert not fixed and abs(moment.timestamp() - time.time()) < 5
    with pytest.raises(CommandProblem):
        parse_end("29/03/2026", london)


def _wanted(**changes: object) -> Wanted:
    values: dict[str, object] = {"segments": 300, "seed": 42, "days": 1, "time_zone": "UTC",
                                 "end": NOW, "fixed_end": False}  # fmt: skip
    return Wanted(**(values | changes))  # type: ignore[arg-type]


def _recorded(ended: datetime, **changes: object) -> dict[str, object]:
    return {"version": DEMO_VERSION, "seed": 42, "segments": 300, "days": 1, "time_zone": "UTC",
            "ended_at": int(ended.timestamp())} | changes  # fmt: skip


def test_a_demo_is_current_while_it_ended_less_than_an_hour_ago_today() -> None:
    assert staleness(_recorded(NOW - timedelta(minutes=20)), _wanted(), NOW) is None
    assert staleness(_recorded(NOW - timedelta(minutes=61)), _wanted(), NOW) is not None
    yesterday = datetime(2026, 11, 30, 0, 10, tzinfo=UTC)
    assert staleness(_recorded(yesterday - timedelta(minutes=20)), _wanted(), yesterday)
    assert staleness(None, _wanted(), NOW) == "it holds no recorded demo"
    assert "seed 7 -> 42" in str(staleness(_recorded(NOW, seed=7), _wanted(), NOW))
    assert "version" in str(staleness(_recorded(NOW, version=DEMO_VERSION - 1), _wanted(), NOW))


def test_a_demo_with_a_fixed_end_is_current_while_that_end_is_asked_for() -> None:
    day = date(2026, 3, 29)
    ended = datetime(2026, 3, 30, tzinfo=UTC)
    assert staleness(_recorded(ended), _wanted(end=day, fixed_end=True), NOW) is None
    assert staleness(_recorded(ended), _wanted(end=date(2026, 3, 28), fixed_end=True), NOW)
