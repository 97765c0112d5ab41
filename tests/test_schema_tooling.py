"""Tools read schema.graphql: graphql-schema-linter passes, and an ariadne-codegen client works.

Both tools are installed by `make install` (npm ci in explorer/, and the .venv/codegen virtual
environment); a test fails with the command to run when one is missing.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.examples import day_variables, valid_examples
from gateway.settings import Settings
from tests.conftest import DEMO_END, SCHEMA

ROOT = Path(__file__).resolve().parents[1]
LINTER = ROOT / "explorer" / "node_modules" / ".bin" / "graphql-schema-linter"
LINTER_RULES = ROOT / "explorer" / "node_modules" / "graphql-schema-linter" / "lib" / "rules"
LINTER_CONFIG = ROOT / "explorer" / "graphql-schema-linter.config.js"
CODEGEN = ROOT / ".venv" / "codegen" / "bin" / "ariadne-codegen"
MISSING = "{} is not installed: run `make install` (needs Node.js and npm for the linter)"


def _lint(schema: Path) -> subprocess.CompletedProcess[str]:
    assert LINTER.is_file(), MISSING.format("graphql-schema-linter")
    return subprocess.run(
        [str(LINTER), "--config-directory", str(LINTER_CONFIG.parent), str(schema)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip


def test_schema_passes_graphql_schema_linter() -> None:
    result = _lint(ROOT / "schema.graphql")
    assert result.returncode == 0, result.stdout + result.stderr


def test_linter_config_enables_every_rule_but_the_documented_skips() -> None:
    config = LINTER_CONFIG.read_text()
    rules, skips = config.split("\n  skipped: [")
    enabled = set(re.findall(r'^    "([a-z-]+)",$', rules, re.MULTILINE))
    skipped = set(re.findall(r'^    "([a-z-]+)",$', skips, re.MULTILINE))
    built_in = {p.stem.replace("_", "-") for p in LINTER_RULES.glob("*.js")}
    assert enabled | skipped == built_in and not enabled & skipped
    for rule in skipped:  # each skip says why, in a comment
        assert f"// - {rule}:" in config, rule


def test_linter_catches_a_bad_schema(tmp_path: Path) -> None:
    bad = tmp_path / "bad.graphql"
    bad.write_text('"""The root."""\ntype Query {\n  Undescribed_Field: Int\n}\n')
    result = _lint(bad)
    assert result.returncode != 0
    assert "fields-have-descriptions" in result.stdout
    assert "fields-are-camel-cased" in result.stdout


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The typed client ariadne-codegen generates from schema.graphql and the examples."""
    assert CODEGEN.is_file(), MISSING.format("ariadne-codegen")
    root = tmp_path_factory.mktemp("codegen")
    queries = root / "queries"
    queries.mkdir()
    for example in valid_examples(SCHEMA._schema):
        (queries / example.path.name).write_text(example.text)
    (root / "out").mkdir()
    (root / "codegen.toml").write_text(
        f"""
[tool.ariadne-codegen]
schema_path = "{ROOT / "schema.graphql"}"
queries_path = "{queries}"
target_package_name = "insights_client"
target_package_path = "{root / "out"}"
client_name = "InsightsClient"

[tool.ariadne-codegen.scalars.DateTime]
type = "datetime.datetime"

[tool.ariadne-codegen.scalars.Date]
type = "datetime.date"
"""
    )
    result = subprocess.run(
        [str(CODEGEN), "--config", str(root / "codegen.toml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(root / "out"))
    try:
        yield importlib.import_module("insights_client")
    finally:
        sys.path.remove(str(root / "out"))
        for name in [m for m in sys.modules if m.startswith("insights_client")]:
            del sys.modules[name]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


async def test_generated_client_runs_every_example(
    client_package: Any, small_engine: AsyncEngine
) -> None:
    app = create_app(Settings(auth="off"), engine=small_engine)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    client = client_package.InsightsClient(url="http://test/graphql", http_client=http)
    utc = ZoneInfo("UTC")
    day = {k: datetime.fromisoformat(v) for k, v in day_variables(DEMO_END, utc).items()}
    results = {}
    async with http:
        for example in valid_examples(SCHEMA._schema):
            method = getattr(client, _snake(example.name))
            needs_day = "$dayStart" in example.text
            args = {"day_start": day["dayStart"], "day_end": day["dayEnd"]} if needs_day else {}
            results[example.name] = await method(**args)
    assert set(results) >= {"AgentsToday", "ServiceLevelByQueue"}

    agents = results["AgentsToday"].agents.nodes
    assert sum(a.metrics.handled_conversations for a in agents) > 0
    assert all(isinstance(a.metrics.handled_conversations, int) for a in agents)

    (assessment,) = results["ConversationWithSegmentsAndAssessments"].assessments.nodes
    segments = assessment.segment.conversation.segments.nodes
    assert all(isinstance(s.started_at, datetime) for s in segments)
    assert client_package.SegmentKind.CONVERSATION in {s.kind for s in segments}


def test_generated_client_is_typed(client_package: Any, tmp_path: Path) -> None:
    """mypy accepts correct use of the client and rejects a wrong type: the types are real."""
    package_dir = Path(client_package.__file__).parent
    good = tmp_path / "good.py"
    good.write_text(
        "from datetime import datetime\n"
        "from insights_client import InsightsClient\n\n\n"
        "async def handled(client: InsightsClient, start: datetime, end: datetime) -> int:\n"
        "    result = await client.agents_today(day_start=start, day_end=end)\n"
        "    if result.agents is None:  # a root field is null when it fails\n"
        "        return 0\n"
        "    return sum(a.metrics.handled_conversations for a in result.agents.nodes)\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from datetime import datetime\n"
        "from insights_client import InsightsClient\n\n\n"
        "async def count(client: InsightsClient, start: datetime, end: datetime) -> str:\n"
        "    result = await client.agents_today(day_start=start, day_end=end)\n"
        "    assert result.agents is not None\n"
        "    return result.agents.total_count\n"
    )

    result = subprocess.run(
        # errors inside the generated package's own plumbing (its WebSocket fallbacks) are not
        # what this checks: only how code using the client type-checks
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
         str(good), str(bad)],
        capture_output=True, text=True, cwd=tmp_path,
        env={"MYPYPATH": str(package_dir.parent), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout + result.stderr
    assert errors[0].startswith("bad.py:"), errors
    assert 'Incompatible return value type (got "int", expected "str")' in errors[0]
