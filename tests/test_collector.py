"""A serving process freezes its start-up heap: full collections walk only what came after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.collector import YOUNG_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, json
from gateway.serving import create_app_from_env
before = gc.get_freeze_count()
create_app_from_env()
print(json.dumps({
    "before": before,
    "frozen": gc.get_freeze_count(),
    "walked": len(gc.get_objects()),  # what a full collection walks: the permanent one excluded
    "threshold": gc.get_threshold()[0],
}))
"""


def test_the_worker_factory_freezes_the_app_it_built(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["before"] == 0
    # the schema, tables and modules are tens of thousands of objects; almost none is left to walk
    assert found["frozen"] > 50_000, found
    assert found["walked"] < found["frozen"] / 20, found
    assert found["threshold"] == YOUNG_THRESHOLD
