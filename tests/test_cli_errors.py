"""The command line answers every mistake with one clear line on stderr and a non-zero status.

Most checks run the real command in a process of its own, as a user would, so that nothing the
test process set up (logging, an event loop) hides a traceback.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli import main
from tests.databases import SERVER_URL, engine_name
from tests.helpers import rows

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("INSIGHTS_TRACEBACK", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True, text=True, check=False, cwd=cwd or ROOT, env=env, timeout=60,
    )  # fmt: skip


def one_line_error(result: subprocess.CompletedProcess[str], command: str) -> str:
    """The single stderr line of a failed command (asserting there is exactly one)."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"insights-gateway {command}: "), lines[0]
    return lines[0]


def sqlite(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another socket listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


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


def test_unknown_revision_creates_nothing(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", "9999", "--database", sqlite(tmp_path / "x.db"))
    assert "unknown revision '9999'" in one_line_error(result, "db upgrade")
    assert list(tmp_path.iterdir()) == []


def test_db_current_on_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    result = run_cli("db", "current", "--database", sqlite(tmp_path / "typo.db"))
    line = one_line_error(result, "db current")
    assert "no database file" in line and "typo.db" in line
    assert list(tmp_path.iterdir()) == []


UNREACHABLE = [
    "postgresql+asyncpg://u:p@127.0.0.1:1/x",  # port 1 on loopback: refused at once
    "postgresql+asyncpg://u@/x?host=/no/such/socket/dir",  # a Unix socket that is not there
]


@pytest.mark.parametrize("url", UNREACHABLE)
@pytest.mark.parametrize("command", [["db", "current"], ["keys", "list"]])
def test_unreachable_server(command: list[str], url: str) -> None:
    result = run_cli(*command, "--database", url)
    assert "cannot reach the database" in one_line_error(result, " ".join(command))


def test_a_database_that_refuses_is_one_line(tmp_path: Path) -> None:
    """The server says no (PostgreSQL: no such database), or the file is not a database."""
    if engine_name() == "postgresql":
        url = make_url(SERVER_URL).set(database="no_such_database_here")
        database, needle = url.render_as_string(hide_password=False), "does not exist"
    else:
        (tmp_path / "notes.db").write_text("not a database, just notes\n" * 100)
        database, needle = sqlite(tmp_path / "notes.db"), "not a database"
    result = run_cli("db", "current", "--database", database)
    line = one_line_error(result, "db current")
    assert "database error" in line and needle in line


def test_serve_on_an_unreachable_server_says_so_before_serving(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--auth", "off", "--port", str(_free_port()),
        "--database", "postgresql+asyncpg://u:p@127.0.0.1:1/x",
    )  # fmt: skip
    assert "cannot reach the database" in one_line_error(result, "serve")
    assert "Serving" not in result.stdout


def test_serve_without_migrating_refuses_a_missing_file(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--auth", "off", "--no-migrate", "--port", str(_free_port()),
        "--database", sqlite(tmp_path / "typo.db"),
    )  # fmt: skip
    assert "no database file" in one_line_error(result, "serve")
    assert "Serving" not in result.stdout and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_taken_port_fails_before_serving(tmp_path: Path, taken_port: int, host: str) -> None:
    result = run_cli(
        "serve", "--auth", "off", "--host", host, "--port", str(taken_port),
        "--database", sqlite(tmp_path / "x.db"),
    )  # fmt: skip
    assert f"port {taken_port} on {host} is in use" in one_line_error(result, "serve")
    assert "Serving" not in result.stdout and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "prefix", "named"),
    [
        (["serve", "--port", "http"], "insights-gateway serve:", "--port"),
        (["serve", "--port", "70000"], "insights-gateway serve:", "--port"),
        (["demo", "--segments", "many"], "insights-gateway demo:", "--segments"),
        (["keys", "create", "--role", "root"], "insights-gateway keys create:", "--role"),
        (["db", "downgrade"], "insights-gateway db:", "downgrade"),
        (["serve", "--hots", "::1"], "insights-gateway:", "--hots"),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], prefix: str, named: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(prefix) and named in result.stderr
    assert "--help" in result.stderr


def test_keys_create_refuses_unknown_agent_and_teams(small_engine: AsyncEngine) -> None:
    database = small_engine.url.render_as_string(hide_password=False)
    result = run_cli(
        "keys", "create", "--role", "agent", "--agent-id", "WKtypo", "--database", database
    )
    assert "no agent 'WKtypo'" in one_line_error(result, "keys create")
    assert "--allow-unknown" in result.stderr
    result = run_cli(
        "keys", "create", "--role", "supervisor", "--team-id", "TMnope", "--database", database
    )
    assert "no team 'TMnope'" in one_line_error(result, "keys create")
    assert "igk_" not in result.stdout


async def test_keys_create_accepts_known_ids_and_allowed_unknown_ones(
    small_engine: AsyncEngine,
) -> None:
    database = small_engine.url.render_as_string(hide_password=False)
    (team,) = await rows(small_engine, "SELECT team_id FROM teams ORDER BY team_id LIMIT 1")
    known = run_cli(
        "keys", "create", "--role", "supervisor", "--team-id", team["team_id"],
        "--database", database,
    )  # fmt: skip
    assert known.returncode == 0 and "igk_" in known.stdout, known.stderr
    allowed = run_cli(
        "keys", "create", "--role", "agent", "--agent-id", "WKlater", "--allow-unknown",
        "--database", database,
    )  # fmt: skip
    assert allowed.returncode == 0 and "igk_" in allowed.stdout, allowed.stderr


def test_an_unexpected_error_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gateway.cli

    def broken(_: object) -> int:
        raise RuntimeError("something of ours broke\nacross lines")

    monkeypatch.delenv("INSIGHTS_TRACEBACK", raising=False)
    monkeypatch.setattr(gateway.cli, "cmd_export_schema", broken)
    assert main(["export-schema"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "insights-gateway export-schema: unexpected RuntimeError: something of ours broke "
        "across lines (INSIGHTS_TRACEBACK=1 shows the traceback)\n"
    )
    monkeypatch.setenv("INSIGHTS_TRACEBACK", "1")
    with pytest.raises(RuntimeError):
        main(["export-schema"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_make_run_listens_where_it_is_told() -> None:
    # a dry run (-n) prints the commands `make run` would run, and runs none of them
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8123", "HOST=::1"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    serve = " ".join(result.stdout.replace("\\\n", " ").split())
    assert "insights-gateway serve --auth off --host ::1 --port 8123 " in serve


@pytest.mark.parametrize("stop", [KeyboardInterrupt, asyncio.CancelledError])
def test_ctrl_c_is_one_line_whichever_way_it_surfaces(
    stop: type[BaseException], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """asyncio.run turns Ctrl-C into KeyboardInterrupt, or into CancelledError when the
    interrupted task had been cancelled already: both are an interruption, status 130."""
    import gateway.cli

    def interrupted(_: object) -> int:
        raise stop()

    monkeypatch.delenv("INSIGHTS_TRACEBACK", raising=False)
    monkeypatch.setattr(gateway.cli, "cmd_export_schema", interrupted)
    assert main(["export-schema"]) == 130
    assert capsys.readouterr().err == "insights-gateway export-schema: interrupted\n"
