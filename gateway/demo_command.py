"""`insights-gateway demo`: write the demo contact center, never a half-built one.

A SQLite file that does not exist yet (or one `--refresh` replaces) is built beside its target
(`NAME.building`) and renamed over it once complete, so an interrupted build leaves nothing
behind. `--refresh` is what `make run` uses: it keeps a database that holds this very demo, ended
less than `FRESH_FOR` ago, and otherwise builds it anew, so a later day brings the demo up to date.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from gateway.dbcommands import CommandProblem
from gateway.settings import Settings

FRESH_FOR = timedelta(hours=1)
SIDE_SUFFIXES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Wanted:
    """The demo asked for: its parameters and the instant it ends."""

    segments: int
    seed: int
    days: int
    time_zone: str
    end: date | datetime  # a date: the end of that day; a datetime: that instant
    fixed_end: bool  # --end was given (else the end is now)

    def ended_at(self) -> int:
        from warehouse.demo import demo_end

        return demo_end(self.end, ZoneInfo(self.time_zone))


def parse_end(text: str | None, tz: ZoneInfo) -> tuple[date | datetime, bool]:
    """`--end`: a day (YYYY-MM-DD, to its end), an instant (local when naive), or now."""
    if not text:
        return datetime.now(tz).replace(microsecond=0), False
    try:
        if "T" not in text and " " not in text:
            return date.fromisoformat(text), True
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandProblem(
            f"--end {text!r} is neither a day (2026-03-29) nor an instant (2026-03-29T14:30)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)), True


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for a server database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def recorded(path: Path) -> dict[str, Any] | None:
    """The demo a SQLite file records, read without creating or changing anything.

    `immutable=1`: a read-only open of a WAL database would otherwise leave `-wal`/`-shm` files
    behind; the record is in the main file, checkpointed when the build closed it.
    """
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM demo_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None  # no such table (an older demo) or not a database we wrote
    return dict(row) if row is not None else None


def staleness(record: dict[str, Any] | None, wanted: Wanted, now: datetime) -> str | None:
    """Why the recorded demo is not the one wanted (None: it is current)."""
    from warehouse.demo import DEMO_VERSION

    if record is None:
        return "it holds no recorded demo"
    asked = {"version": DEMO_VERSION, "seed": wanted.seed, "segments": wanted.segments,
             "days": wanted.days, "time_zone": wanted.time_zone}  # fmt: skip
    changed = [f"{k} {record.get(k)} -> {v}" for k, v in asked.items() if record.get(k) != v]
    if changed:
        return "its parameters changed (" + ", ".join(changed) + ")"
    ended = datetime.fromtimestamp(record["ended_at"], now.tzinfo)
    if wanted.fixed_end:
        return None if record["ended_at"] == wanted.ended_at() else f"it ended at {ended}"
    if ended.date() != now.date() or now - ended >= FRESH_FOR:
        return f"it ended at {ended:%Y-%m-%d %H:%M}"
    return None


def _remove(path: Path) -> None:
    for suffix in SIDE_SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(args: Any, settings: Settings) -> int:
    """Build (or with `--refresh`, keep or rebuild) the demo the arguments ask for."""
    tz = ZoneInfo(settings.timezone)
    end, fixed = parse_end(args.end, tz)
    wanted = Wanted(args.segments, args.seed, args.days, settings.timezone, end, fixed)
    target = sqlite_file(settings.database_url)
    if args.refresh:
        if target is None:
            raise CommandProblem("--refresh keeps or rebuilds SQLite demo files only")
        reason = staleness(recorded(target), wanted, datetime.now(tz))
        if reason is None:
            print(f"{target} holds this demo, current: kept")
            return 0
        if target.exists():
            print(f"{target}: {reason}; building the demo anew")
    elif target is not None and target.exists():
        target = None  # write into the existing file (the demo refuses one with segments)
    if target is None:
        stats = _build(settings.database_url, wanted, args)
    else:
        stats = _build_aside(target, settings.database_url, wanted, args)
    print(f"Demo contact center written to {settings.database_url}: {stats}")
    if args.events_out:
        print(f"Its traffic as TaskRouter events: {args.events_out}")
    return 0


def _build_aside(target: Path, url: str, wanted: Wanted, args: Any) -> object:
    """Build into `target.building`, then put it in place of `target` in one rename."""
    side = target.with_name(target.name + ".building")
    _remove(side)
    side_url = make_url(url).set(database=str(side)).render_as_string(hide_password=False)
    try:
        stats = _build(side_url, wanted, args)
    except BaseException:
        _remove(side)
        raise
    kept = _carry_api_keys(target, side)
    if kept:
        print(f"{kept} API key(s) of {target} carried over")
    for suffix in SIDE_SUFFIXES[1:]:  # an old journal would be replayed onto the new file
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(side, target)
    return stats


def _carry_api_keys(old: Path, new: Path) -> int:
    """Copy the API keys of the database being replaced, so its tokens keep working."""
    if not old.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{new}", uri=True)) as conn:
            conn.execute("ATTACH DATABASE ? AS old", (f"file:{old}?mode=ro",))
            theirs = {r[1] for r in conn.execute("PRAGMA old.table_info(api_keys)")}
            columns = [r[1] for r in conn.execute("PRAGMA main.table_info(api_keys)")]
            shared = ", ".join(f'"{c}"' for c in columns if c in theirs)
            if not theirs or not shared:
                return 0
            copied = conn.execute(
                f"INSERT INTO api_keys ({shared}) SELECT {shared} FROM old.api_keys"
            ).rowcount
            conn.commit()
            return copied
    except sqlite3.Error:
        return 0  # not a database we can read: nothing to keep


def _build(url: str, wanted: Wanted, args: Any) -> object:
    from warehouse.demo import build_demo
    from warehouse.engine import create_engine

    async def run() -> object:
        engine = create_engine(url)
        try:
            with ExitStack() as files:
                events_out = (
                    files.enter_context(open(args.events_out, "w", encoding="utf-8"))
                    if args.events_out
                    else None
                )
                return await build_demo(
                    engine, segments=wanted.segments, seed=wanted.seed, days=wanted.days,
                    end=wanted.end, tz=ZoneInfo(wanted.time_zone), progress=not args.quiet,
                    events_out=events_out,
                )  # fmt: skip
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except ValueError as error:
        raise CommandProblem(str(error)) from None
    finally:
        sys.stderr.flush()
