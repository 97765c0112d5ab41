"""`insights-gateway serve`: migrate once, then run uvicorn with one or several worker processes.

Workers are separate processes (uvicorn's supervisor restarts a dead one), each building the app
from the environment through `create_app_from_env`; the parent hands them the database URL that
way. Migrations run in the parent before any worker starts, so workers never race on DDL. With
several workers, metrics use prometheus_client's multiprocess directory (a fresh temp dir unless
`PROMETHEUS_MULTIPROC_DIR` is set), so `/metrics` on any worker reports all of them, and the
workers share their subscriptions through another (gateway/subscription_sharing.py). Accepted
connections get TCP_NODELAY in every mode (`gateway.nodelay`). The stack is uvicorn on httptools'
parser and uvloop's event loop, chosen on measurements (README "Server stack"). Each worker
freezes the app it built for the garbage collector (gateway/collector.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

from starlette.applications import Starlette

from gateway.logs import log_config
from gateway.settings import Settings

# what `serve` hands uvicorn: httptools with TCP_NODELAY whatever the worker count, on uvloop
HTTP_PROTOCOL = "gateway.nodelay:NoDelayHttpToolsProtocol"
EVENT_LOOP = "uvloop"


def create_app_from_env() -> Starlette:
    """The uvicorn app factory (`gateway.serving:create_app_from_env`): settings from the env."""
    from gateway.app import create_app
    from gateway.collector import tune_for_serving

    app = create_app(Settings())
    tune_for_serving()  # the app's objects are built: freeze them (gateway/collector.py)
    return app


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    demo_traffic: bool = False,
) -> None:
    import uvicorn

    if demo_traffic:  # one generator, in this (parent) process, however many workers serve
        from zoneinfo import ZoneInfo

        from warehouse.demo_traffic import start_in_background

        start_in_background(settings.database_url, ZoneInfo(settings.timezone))

    # workers build their settings from the environment: hand over what the command line set
    os.environ["DATABASE_URL"] = settings.database_url
    os.environ["INSIGHTS_AUTH"] = settings.auth
    made_dirs: list[str] = []
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made_dirs.append(tempfile.mkdtemp(prefix="insights-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made_dirs[-1]
    if workers > 1 and settings.subscription_sharing_dir is None:
        # the workers share their subscriptions: one computes, the others relay (private: 0700)
        made_dirs.append(tempfile.mkdtemp(prefix="insights-live-"))
        os.environ["INSIGHTS_SUBSCRIPTION_SHARING_DIR"] = made_dirs[-1]
    try:
        uvicorn.run(
            "gateway.serving:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=log_config(log_level.upper()),
            access_log=False,  # ObservabilityMiddleware writes one JSON line per request instead
            proxy_headers=True,
            http=HTTP_PROTOCOL,
            loop=EVENT_LOOP,
            # a compressor per connection: CPU for every result sent to every subscriber
            ws_per_message_deflate=settings.websocket_compression,
        )
    finally:
        for made in made_dirs:
            shutil.rmtree(made, ignore_errors=True)


def add_arguments(serve_parser: argparse.ArgumentParser) -> None:
    serve_parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1; about one per core)"
    )
    serve_parser.add_argument(
        "--demo-traffic",
        action="store_true",
        help="play the demo contact center's calls live, as TaskRouter events (`make run` does)",
    )
    serve_parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
