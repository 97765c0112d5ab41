"""`insights-gateway ingest FILE... | -`: load TaskRouter events (JSON Lines), with progress."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy.exc import InterfaceError, InternalError
from tqdm import tqdm

from gateway.settings import Settings
from warehouse.engine import create_engine, create_tables
from warehouse.ingest import IngestCounts, Ingestor, RawEvent, read_lines


def _raw_events(paths: list[str]) -> Iterator[RawEvent]:
    for path in paths:
        if path == "-":
            yield from read_lines(sys.stdin, "<stdin>")
            continue
        with open(path, encoding="utf-8", errors="replace") as stream:
            yield from read_lines(stream, path)


async def ingest_files(paths: list[str], settings: Settings, *, progress: bool) -> IngestCounts:
    """Ingest `paths` in order; each committed batch shows on the bar."""
    engine = create_engine(settings.database_url)
    total = IngestCounts()
    bar = tqdm(unit="ev", disable=not progress, desc="ingest")
    try:
        await create_tables(engine)
        async for counts in Ingestor(engine, ZoneInfo(settings.timezone)).ingest(
            _raw_events(paths)
        ):
            for problem in counts.problems:  # as each batch commits: one line per reject
                tqdm.write(f"rejected {problem}", file=sys.stderr)
            total.add(counts)
            bar.update(counts.read)
            bar.set_postfix(rejected=total.rejected)
    finally:
        bar.close()
        await engine.dispose()
    return total


def run_ingest(paths: list[str], settings: Settings, *, progress: bool) -> int:
    """Exit status 1 when anything was rejected (it is in `dead_letters`), 2 for a missing file.

    Each rejected event is one line on stderr (`rejected FILE:LINE: reason`), printed as its
    batch commits; the last line on stdout sums up the run.
    """
    try:
        counts = asyncio.run(ingest_files(paths, settings, progress=progress))
    except OSError as error:
        print(f"insights-gateway ingest: {error}", file=sys.stderr)
        return 2
    except (InterfaceError, InternalError) as error:  # OperationalError: reported by `main`
        print(
            f"insights-gateway ingest: database error: {error.orig}; the batches committed before"
            " it are kept, run the same files again to complete",
            file=sys.stderr,
        )
        return 2
    print(f"Ingested: {counts.summary()}")
    return 1 if counts.rejected else 0
