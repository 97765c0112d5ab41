"""A longer fuzz run than `make test`'s, by hand: tests/test_fuzz.py with more documents.

    .venv/bin/python tools/fuzz.py                      # 50 documents per root field and role
    .venv/bin/python tools/fuzz.py --examples 500 --seed 7 -k "agent and report"
    .venv/bin/python tools/fuzz.py --seed 7 --shrink -k "createAssessments"   # minimize a finding

`make test` runs it derandomized with a few documents each; here every run draws new documents
from a seed (printed, so a finding can be replayed with `--seed`). On PostgreSQL: set
`INSIGHTS_TEST_DATABASE_URL` as for the suite (`source .ci/postgres.sh && start_test_postgres`).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50, help="documents per field and role")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    parser.add_argument("--shrink", action="store_true", help="minimize the failing documents")
    parser.add_argument("-k", dest="select", default="", help="pytest -k: fields and roles")
    args = parser.parse_args(argv)
    seed = random.randrange(2**32) if args.seed is None else args.seed
    print(f"fuzz: {args.examples} documents per field and role, seed {seed}", flush=True)
    env = {
        **os.environ,
        "INSIGHTS_FUZZ_EXAMPLES": str(args.examples),
        "INSIGHTS_FUZZ_SEED": str(seed),
        "INSIGHTS_FUZZ_SHRINK": "1" if args.shrink else "",
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py"]
    if args.select:
        command += ["-k", args.select]
    status = subprocess.call(command, env=env, cwd=ROOT)
    if status:
        print(f"fuzz: failures above; replay with --seed {seed}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
