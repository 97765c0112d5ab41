"""The SQLite change feed survives being stopped at any moment.

Its reader once ran `PRAGMA data_version` in a worker thread while the cancelled task closed the
same connection from the loop thread, and the interpreter crashed (a segmentation fault in CI).
Feeds are also left running when their loop ends (a reader's late report to a closed loop once
printed a traceback). The churn runs in a child process so that a crash fails this test instead
of ending the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CHURN = textwrap.dedent(
    """
    import asyncio, sqlite3, sys
    from sqlalchemy.ext.asyncio import create_async_engine
    import warehouse.changes as changes

    changes.POLL_SECONDS = 0  # read continuously, so a stop nearly always lands on a read
    path = sys.argv[1]
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()

    async def churn() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        for round in range(60):
            feeds = [changes.ChangeFeed(engine) for _ in range(8)]
            for feed in feeds:
                feed.start()
            await asyncio.sleep(0.001 * (round % 7))
            for feed in feeds:
                await feed.stop()
        await engine.dispose()

    async def abandon(round: int) -> None:
        # feeds left running: asyncio.run cancels them and closes the loop at once, while their
        # readers may still be connecting or reading
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        for feed in [changes.ChangeFeed(engine) for _ in range(8)]:
            feed.start()
        await asyncio.sleep(0.001 * (round % 5))

    asyncio.run(churn())
    for round in range(40):
        asyncio.run(abandon(round))
    print("survived")
    """
)


def test_feeds_stopped_mid_read_do_not_crash_the_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", CHURN, str(tmp_path / "feed.db")],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "survived"
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
