"""`insights-gateway`: serve, build the demo contact center, print the schema."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gateway import dbcommands, serving
from gateway.cli_errors import MISTAKE, OneLineParser, report, wants_traceback
from gateway.preflight import port_problem
from gateway.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = (
        {"database_url": args.database} if getattr(args, "database", None) else {}
    )
    if getattr(args, "auth", None):
        overrides["auth"] = args.auth
    return Settings(**overrides)  # type: ignore[arg-type]


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.auth import is_loopback

    settings = _settings(args)
    if args.workers < 1:
        print("insights-gateway serve: --workers must be at least 1", file=sys.stderr)
        return 2
    if settings.auth == "off":
        if not is_loopback(args.host):
            print(
                f"insights-gateway serve: refusing to switch authentication off on {args.host}: "
                "only a loopback address (127.0.0.1, ::1, localhost) may run without it.",
                file=sys.stderr,
            )
            return 2
        print(
            "WARNING: authentication is OFF (loopback only): every local request without a "
            "token acts as admin. Never expose this port."
        )
    # every mistake is found before "Serving ..." is printed: the port, then the database
    problem = port_problem(args.host, args.port)
    if problem is not None:
        print(f"insights-gateway serve: {problem}", file=sys.stderr)
        return MISTAKE
    if args.no_migrate:
        dbcommands.check_reachable(settings.database_url)
    else:
        dbcommands.cmd_upgrade(settings.database_url, argparse.Namespace(revision="head"))
    where = dbcommands.safe_url(settings.database_url)
    print(f"Serving http://{args.host}:{args.port}/graphql from {where}", flush=True)
    serving.serve(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        demo_traffic=args.demo_traffic,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo_command import run_demo

    return run_demo(args, _settings(args))


def cmd_db(args: argparse.Namespace) -> int:
    return int(args.db_run(_settings(args).database_url, args))


def cmd_ingest(args: argparse.Namespace) -> int:
    from gateway.ingest_command import run_ingest

    return run_ingest(args.files, _settings(args), progress=not args.quiet)


def cmd_export_schema(_: argparse.Namespace) -> int:
    from schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")
    return 0


def port_number(text: str) -> int:
    """A TCP port to listen on, 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


def parser() -> argparse.ArgumentParser:
    root = OneLineParser(prog="insights-gateway", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve /graphql with GraphiQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=8000)
    serve.add_argument("--database", help="database URL (default: $DATABASE_URL or ./insights.db)")
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not run `db upgrade` before serving"
    )
    serve.add_argument(
        "--auth", choices=["on", "off"], help="override $INSIGHTS_AUTH (off: loopback only)"
    )
    serving.add_arguments(serve)
    serve.set_defaults(run=cmd_serve)

    demo = commands.add_parser("demo", help="write a deterministic demo contact center")
    demo.add_argument("--segments", type=int, default=50_000, help="about how many segments")
    demo.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    demo.add_argument("--days", type=int, default=14, help="how many days of traffic")
    demo.add_argument(
        "--end",
        help="when the demo ends: a day YYYY-MM-DD (its end) or an instant YYYY-MM-DDTHH:MM "
        "(default: now, in the time zone)",
    )
    demo.add_argument(
        "--refresh",
        action="store_true",
        help="keep a SQLite file holding this demo, current; else build it anew (make run)",
    )
    demo.add_argument("--database", help="database URL (default: $DATABASE_URL or ./insights.db)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.add_argument("--events-out", help="also write the traffic as TaskRouter events (JSONL)")
    demo.set_defaults(run=cmd_demo)

    dbcommands.add_parser(commands).set_defaults(run=cmd_db)

    ingest = commands.add_parser("ingest", help="load TaskRouter events (JSON Lines)")
    ingest.add_argument("files", nargs="+", metavar="FILE", help="event files; - reads stdin")
    ingest.add_argument("--database", help="database URL (default: $DATABASE_URL or ./insights.db)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(run=cmd_ingest)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(run=cmd_export_schema)

    from gateway.keys_cli import add_keys_commands

    add_keys_commands(commands)
    return root


def command_name(args: argparse.Namespace) -> str:
    """The command as typed (`db current`, `keys create`), to head its error line."""
    action = getattr(args, "action", None) or getattr(args, "keys_command", None)
    return f"{args.command} {action}" if action else str(args.command)


def main(argv: list[str] | None = None) -> int:
    """Run a command; any failure is one line on stderr and a non-zero status, not a traceback."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (Exception, KeyboardInterrupt, asyncio.CancelledError) as error:
        if wants_traceback():
            raise
        return report(command_name(args), error)


if __name__ == "__main__":
    raise SystemExit(main())
