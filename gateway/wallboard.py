"""`GET /wallboard`: a page for the wall of a contact center, live through the subscriptions.

One tile per queue (waiting, longest wait, available agents, service level today and over the
last 30 minutes) and today's service level by 15-minute interval as a chart. Its two scripts and
one stylesheet come from pinned npm packages (`explorer/package.json`): `make install` copies
them into the git-ignored `gateway/static/wallboard/` after checking each file's sha384 against
the table below, as GraphiQL's assets are (gateway/assets.py); nothing loads from a CDN. The page
holds no data; with authentication on, it asks for a token, kept in the browser's local storage,
and sends it in `connection_init`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway import assets
from gateway.assets import Asset

ASSETS_URL = "wallboard-assets"
ASSETS_DIR = Path(__file__).resolve().parent / "static" / "wallboard"

ASSETS = (
    Asset(
        "graphql-ws.min.js", "graphql-ws", "6.4.2", "umd/graphql-ws.min.js",
        "sha384-mxvR4Mzbsb6QVx/9xI2gtQikQA6m8zMDBFnu3l//4/ROsWt7y2sUGWd+/tYQqDm7",
    ),
    Asset(
        "uPlot.iife.min.js", "uplot", "1.6.32", "dist/uPlot.iife.min.js",
        "sha384-Gx3t0zdBAuQOuvvmaLZj7HKEiSgWTAs+VdtNY7wt19QDPTDQjFIwAuXDj0zeN00c",
    ),
    Asset(
        "uPlot.min.css", "uplot", "1.6.32", "dist/uPlot.min.css",
        "sha384-IfV0B7MIOYuO95kO9G5ySKPz/85zqFNOAs8iy4tkK5zd9izhJAB8b7lHrwYqqmYE",
    ),
)  # fmt: skip


def missing(directory: Path = ASSETS_DIR) -> list[str]:
    """Asset files not present in `directory` (empty: the page works offline)."""
    return assets.missing(directory, ASSETS)


def build(target: Path = ASSETS_DIR) -> None:
    """Copy the wallboard's assets out of `explorer/node_modules`, checked against their pins."""
    assets.build(target, ASSETS, "gateway/wallboard.py")


def today(now: datetime, tz: ZoneInfo) -> dict[str, str]:
    """The workspace's current day as `report` variables (`from`, `to`), in UTC."""
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, local.day, tzinfo=tz)
    following = start.date() + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz)
    return {"from": start.astimezone(UTC).isoformat(), "to": end.astimezone(UTC).isoformat()}


class WallboardPage:
    """The page, with today's range of the workspace time zone written in."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.template = files("gateway").joinpath("wallboard.html").read_text(encoding="utf-8")

    async def render(self, request: Request) -> Response:
        if missing():
            return Response(
                "The wallboard's scripts are not installed: run `make install` (needs npm).",
                status_code=503,
                media_type="text/plain",
            )
        day = json.dumps(today(datetime.now(UTC), self.tz))
        return HTMLResponse(self.template.replace("__TODAY__", day))


if __name__ == "__main__":
    try:
        build()
    except (FileNotFoundError, ValueError) as error:
        print(f"gateway.wallboard: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"wallboard assets copied to {ASSETS_DIR}")
