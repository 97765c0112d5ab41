"""GET /graphql serves our GraphiQL page: built assets from the gateway, else the CDN with a log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import assets
from gateway.app import create_app
from gateway.examples import today_variables
from gateway.explorer import ExplorerPage
from gateway.settings import Settings
from tests.conftest import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
BUILD_HINT = "GraphiQL assets are not built: run `make install` on a machine with Node.js and npm"


def _urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


def _config(page: str) -> dict[str, str]:
    match = re.search(r'<script id="explorer-config" type="application/json">(.*?)</script>', page)
    assert match, "the page carries no config"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers={"Accept": "text/html"})


async def test_page_is_self_contained_when_the_assets_are_built(small_engine: AsyncEngine) -> None:
    assert not assets.missing(), BUILD_HINT
    app = create_app(Settings(auth="off"), engine=small_engine)
    page = await _get(app, "/graphql")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    urls = _urls(page.text)
    assert urls[0] == "data:,"  # the favicon, inline
    assert urls[1:] == [f"explorer-assets/{a.name}" for a in assets.ASSETS]
    assert "http://" not in page.text and "https://" not in page.text
    for url in urls[1:]:  # each one is served by the gateway, as the pinned bytes
        asset = await _get(app, f"/{url}")
        name = url.rsplit("/", 1)[1]
        assert asset.status_code == 200, url
        (pinned,) = [a for a in assets.ASSETS if a.name == name]
        assert assets.sri(assets.ASSETS_DIR / name) == pinned.integrity


async def test_page_opens_on_the_examples_with_todays_variables(small_engine: AsyncEngine) -> None:
    app = create_app(Settings(auth="off", timezone="America/New_York"), engine=small_engine)
    config = _config((await _get(app, "/graphql")).text)
    assert "query AgentsToday(" in config["defaultQuery"]
    assert "query ConversationWithSegmentsAndAssessments" in config["defaultQuery"]
    assert json.loads(config["variables"]) == today_variables(ZoneInfo("America/New_York"))


async def test_with_auth_the_page_says_where_the_token_goes(small_engine: AsyncEngine) -> None:
    app = create_app(Settings(auth="on"), engine=small_engine)
    page = await _get(app, "/graphql")  # no credentials: the page itself holds no data
    assert page.status_code == 200
    config = _config(page.text)
    assert json.loads(config["headers"]) == {"Authorization": "Bearer <token>"}
    assert "Headers tab" in config["authHint"] and "<token>" in config["authHint"]
    # the headers pane opens on the template: the page hands both to GraphiQL
    assert "defaultHeaders: config.headers" in page.text
    assert 'config.headers ? "headers" : true' in page.text
    refused = await _post_without_token(app)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_without_auth_the_page_has_no_token_template(small_engine: AsyncEngine) -> None:
    app = create_app(Settings(auth="off"), engine=small_engine)
    config = _config((await _get(app, "/graphql")).text)
    assert "headers" not in config and "authHint" not in config


async def _post_without_token(app: object) -> dict[str, object]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/graphql", json={"query": "{ agents { totalCount } }"})
    assert response.status_code == 401
    return response.json()  # type: ignore[no-any-return]


async def test_graphiql_off_serves_no_page(small_engine: AsyncEngine) -> None:
    app = create_app(Settings(auth="off", graphiql=False), engine=small_engine)
    assert (await _get(app, "/graphql")).status_code != 200


def test_without_assets_the_page_uses_the_cdn_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = ExplorerPage(
        SCHEMA._schema, ZoneInfo("UTC"), auth_required=False, assets_dir=tmp_path
    ).render()
    assert _urls(page)[1:] == [a.cdn_url for a in assets.ASSETS]
    for asset in assets.ASSETS:
        assert f'integrity="{asset.integrity}"' in page
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "gateway.explorer"]
    assert "GraphiQL assets not built" in warning and assets.CDN in warning
    assert "react.production.min.js" in warning and "make install" in warning


def test_config_cannot_close_the_script_element(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "x.graphql").write_text("# </script><b>\nquery X { agents { totalCount } }")
    page = ExplorerPage(
        SCHEMA._schema, ZoneInfo("UTC"), auth_required=False, examples_dir=examples
    ).render()
    assert "</script><b>" not in page
    assert "</script><b>" in _config(page)["defaultQuery"]


def test_pinned_assets_match_the_npm_lock_file() -> None:
    lock = json.loads((ROOT / "explorer" / "package-lock.json").read_text())["packages"]
    manifest = json.loads((ROOT / "explorer" / "package.json").read_text())["dependencies"]
    for asset in assets.ASSETS:
        assert lock[f"node_modules/{asset.package}"]["version"] == asset.version, asset.package
        assert manifest[asset.package] == asset.version, asset.package
