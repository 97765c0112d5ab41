"""Report benchmark: the gateway against the hand-written SQL statement, same database, same run.

Build the database once, outside the repository (about a million segments):

    insights-gateway demo --segments 1000000 --days 14 --database sqlite+aiosqlite:////tmp/bench.db

then run

    .venv/bin/python bench/report_bench.py --database sqlite+aiosqlite:////tmp/bench.db

It times `report(groupBy: [QUEUE, INTERVAL_15_MINUTES])` with 8 segment metrics over the last
7 days of the data (GraphQL execution in process: parsing, validation, resolvers, SQL, typed keys)
and the single SQL statement an analyst would write for the same numbers, alternating them, and
prints the medians and their ratio. The answers are compared first, so both compute the same.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from resolvers.context import Context, Options
from resolvers.viewer import Viewer
from schema import build_schema
from warehouse.engine import create_engine

METRICS = (
    "queueSegments abandonedSegmentsRate handledConversations averageHandlingTime "
    "averageSpeedOfAnswer serviceLevel longestQueueTime talkTime"
)

QUERY = f"""query($from: DateTime!, $to: DateTime!) {{
  report(groupBy: [QUEUE, INTERVAL_15_MINUTES], from: $from, to: $to) {{
    rows {{ key {{ queue interval15Minutes }} metrics {{ {METRICS} }} }}
  }}
}}"""

# The same eight metrics as one statement, by hand (workspace time zone UTC: no offset).
HANDWRITTEN = """
SELECT queue,
       (started_at % 86400) / 900 AS slot,
       SUM(CASE WHEN kind = 'QUEUE' THEN 1 ELSE 0 END) AS queue_segments,
       CAST(SUM(CASE WHEN kind = 'QUEUE' AND abandoned = 'YES'
                      AND (abandoned_phase IS NULL OR abandoned_phase <> 'Voicemail')
                     THEN 1 ELSE 0 END) AS FLOAT)
         / NULLIF(SUM(CASE WHEN kind = 'QUEUE' THEN 1 ELSE 0 END), 0) AS abandoned_rate,
       COUNT(DISTINCT CASE WHEN kind = 'CONVERSATION' AND abandoned = 'NO'
                            AND agent_id IS NOT NULL THEN conversation_id END) AS handled,
       CAST(SUM(CASE WHEN kind = 'CONVERSATION' AND abandoned = 'NO' AND agent_id IS NOT NULL
                     THEN COALESCE(talk_time, 0) + COALESCE(wrap_up_time, 0)
                          + CASE WHEN direction = 'OUTBOUND' THEN COALESCE(ring_time, 0) ELSE 0 END
                END) AS FLOAT)
         / NULLIF(COUNT(DISTINCT CASE WHEN kind = 'CONVERSATION' AND abandoned = 'NO'
                                      AND agent_id IS NOT NULL THEN conversation_id END), 0) AS aht,
       AVG(CASE WHEN kind = 'CONVERSATION' AND abandoned = 'NO' AND agent_id IS NOT NULL
                THEN CAST(queue_time AS FLOAT) END) AS asa,
       CAST(SUM(CASE WHEN kind = 'QUEUE' AND abandoned = 'NO' AND queue_time < 60
                     THEN 1 ELSE 0 END) AS FLOAT)
         / NULLIF(SUM(CASE WHEN kind = 'QUEUE' AND (queue_time > 5 OR abandoned = 'NO')
                           THEN 1 ELSE 0 END), 0) AS service_level,
       MAX(CASE WHEN kind = 'QUEUE' THEN queue_time END) AS longest_queue_time,
       COALESCE(SUM(CASE WHEN kind = 'CONVERSATION' THEN talk_time END), 0) AS talk_time
FROM segments
WHERE started_at >= :lo AND started_at < :hi
GROUP BY queue, (started_at % 86400) / 900
"""


def _clock(slot: int) -> str:
    return f"{slot * 15 // 60:02d}:{slot * 15 % 60:02d}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="sqlite+aiosqlite:////tmp/bench.db")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    engine = create_engine(args.database)
    schema = build_schema()
    async with engine.connect() as conn:
        segments = (await conn.execute(text("SELECT count(*) FROM segments"))).scalar_one()
        latest = (await conn.execute(text("SELECT max(started_at) FROM segments"))).scalar_one()
    end = datetime.fromtimestamp(int(latest), UTC).replace(hour=0, minute=0, second=0)
    end += timedelta(days=1)
    start = end - timedelta(days=7)
    variables = {"from": start.isoformat(), "to": end.isoformat()}
    bounds = {"lo": int(start.timestamp()), "hi": int(end.timestamp())}

    async def gateway() -> list[dict[str, Any]]:
        context = Context(engine=engine, viewer=Viewer.system(), options=Options())
        result = await schema.execute(QUERY, variable_values=variables, context_value=context)
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data["report"]["rows"]  # type: ignore[no-any-return]

    async def handwritten() -> list[Any]:
        async with engine.connect() as conn:
            return list(await conn.execute(text(HANDWRITTEN), bounds))

    # same numbers first: a fast wrong answer would prove nothing
    rows = {
        (r["key"]["queue"], r["key"]["interval15Minutes"]): r["metrics"] for r in await gateway()
    }
    hand = await handwritten()
    assert len(rows) == len(hand), (len(rows), len(hand))
    for row in hand:
        got = rows[(row.queue, _clock(row.slot))]
        assert got["queueSegments"] == row.queue_segments
        assert got["handledConversations"] == row.handled
        assert got["longestQueueTime"] == row.longest_queue_time
        assert got["talkTime"] == row.talk_time
        for name, value in (
            ("serviceLevel", row.service_level),
            ("averageHandlingTime", row.aht),
            ("averageSpeedOfAnswer", row.asa),
            ("abandonedSegmentsRate", row.abandoned_rate),
        ):
            assert (got[name] is None) == (value is None), name
            assert value is None or abs(got[name] - value) <= 1e-9 * max(1.0, abs(value)), name

    timings: dict[str, list[float]] = {"gateway": [], "handwritten": []}
    for _ in range(args.repeat):
        for name, run in (("handwritten", handwritten), ("gateway", gateway)):
            began = time.perf_counter()
            await run()
            timings[name].append(time.perf_counter() - began)
    await engine.dispose()

    gw, sql = statistics.median(timings["gateway"]), statistics.median(timings["handwritten"])
    print(f"database: {args.database} ({segments:,} segments)")
    print(
        f"report: {len(rows)} rows (queue x 15-minute interval), {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    )
    print(f"repetitions: {args.repeat}, alternating; medians:")
    print(f"  hand-written SQL statement: {sql * 1000:8.1f} ms")
    print(f"  gateway report (GraphQL):   {gw * 1000:8.1f} ms")
    print(f"  ratio gateway / SQL:        {gw / sql:8.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    asyncio.run(main())
