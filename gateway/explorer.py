"""The GraphiQL page of `GET /graphql`: self-contained when the assets are built, else the CDN."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from graphql import GraphQLSchema

from gateway import assets
from gateway.examples import EXAMPLES_DIR, default_document, today_variables, valid_examples

logger = logging.getLogger(__name__)

TEMPLATE = Path(__file__).with_name("explorer.html")
ASSETS_URL = "explorer-assets"  # mounted beside /graphql, so relative URLs work under a prefix
TOKEN_PLACEHOLDER = "<token>"
HEADERS_TEMPLATE = json.dumps({"Authorization": f"Bearer {TOKEN_PLACEHOLDER}"}, indent=2)
AUTH_HINT = (
    "Authentication is on: every query needs a token. Put yours in the Headers tab below, in "
    f"place of {TOKEN_PLACEHOLDER} (a JWT from your identity provider, or an API key from "
    "`insights-gateway keys create`)."
)


class ExplorerPage:
    """Renders the page; the document is fixed at start-up, the variables follow the clock.

    With authentication on, the page opens on the Headers tab holding an `Authorization`
    template and says where the token goes: without it, the first thing a user sees is
    "missing bearer token" and no hint of where a token would go.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        tz: ZoneInfo,
        *,
        auth_required: bool,
        assets_dir: Path | None = None,
        examples_dir: Path = EXAMPLES_DIR,
    ) -> None:
        assets_dir = assets_dir or assets.ASSETS_DIR
        self.tz = tz
        self.auth_required = auth_required
        self.document = default_document(valid_examples(schema, examples_dir))
        absent = assets.missing(assets_dir)
        self.offline = not absent
        if absent:
            logger.warning(
                "GraphiQL assets not built (%s missing from %s): the page loads them from %s. "
                "Run `make install` with Node.js and npm to serve them from the gateway.",
                ", ".join(absent), assets_dir, assets.CDN,
            )  # fmt: skip
        self.tags = "\n".join(_tag(asset, self.offline) for asset in assets.ASSETS)
        self.template = TEMPLATE.read_text()

    def render(self) -> str:
        config = {"defaultQuery": self.document, "variables": _pretty(today_variables(self.tz))}
        if self.auth_required:
            config |= {"headers": HEADERS_TEMPLATE, "authHint": AUTH_HINT}
        # JSON inside <script>: "<" escaped so no string can close the element
        payload = json.dumps(config).replace("<", "\\u003c")
        return self.template.replace("__ASSETS__", self.tags).replace("__CONFIG__", payload)


def _pretty(variables: dict[str, str]) -> str:
    return json.dumps(variables, indent=2)


def _tag(asset: assets.Asset, offline: bool) -> str:
    if offline:
        url, extra = f"{ASSETS_URL}/{asset.name}", ""
    else:
        url = asset.cdn_url
        extra = f' crossorigin="anonymous" integrity="{asset.integrity}"'
    url = html.escape(url)
    if asset.is_stylesheet:
        return f'    <link rel="stylesheet" href="{url}"{extra} />'
    return f'    <script src="{url}"{extra}></script>'
