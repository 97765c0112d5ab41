"""GraphiQL in a real browser with no network but loopback: it loads, runs an example, shows data.

Debian's Chromium (`apt-get install chromium`, done by .ci/run) driven by Python Playwright with
the system browser; nothing is downloaded. Every request that leaves loopback is aborted and
recorded, so the test proves the page needs nothing from the internet. The screenshot lands in
test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, sync_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.served import database_url, served

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("INSIGHTS_CHROMIUM", "/usr/bin/chromium"))
# what this machine's closed network needs (see the env doc): no background calls to Google
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
EXAMPLE = "ConversationWithSegmentsAndAssessments"


@contextmanager
def _serve(engine: AsyncEngine, tmp_path: Path, auth: str) -> Iterator[str]:
    """`insights-gateway serve` over the small demo database, its pages' scripts its own."""
    log = tmp_path / "server.log"
    with served(database_url(engine), log, auth=auth) as url:
        yield url
    assert "loads them from" not in log.read_text(), "CDN fallback in use"


@pytest.fixture
def server(small_engine: AsyncEngine, tmp_path: Path) -> Iterator[str]:
    with _serve(small_engine, tmp_path, "off") as url:
        yield url


@pytest.fixture
def server_with_auth(small_engine: AsyncEngine, tmp_path: Path) -> Iterator[str]:
    with _serve(small_engine, tmp_path, "on") as url:
        yield url


def _run_example(page: Page, name: str, awaited: str = '"data"') -> Any:
    """Click the run button, pick the operation by name, return the result pane's JSON."""
    page.click(".graphiql-execute-button")
    page.get_by_role("menuitem", name=name).click()
    page.locator(".result-window").get_by_text(awaited).first.wait_for(timeout=20_000)
    # the pane draws only the lines in view: read the whole text from its CodeMirror editor
    text = page.eval_on_selector(".result-window .CodeMirror", "node => node.CodeMirror.getValue()")
    return json.loads(text)


def test_graphiql_runs_an_example_offline(server: str) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (see .ci/run)")
    ARTIFACTS.mkdir(exist_ok=True)
    left_loopback: list[str] = []
    page_errors: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if url.startswith("data:") or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            left_loopback.append(url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.route("**/*", only_loopback)
            page = context.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(f"{server}/graphql")
            page.locator(".graphiql-execute-button").wait_for(timeout=20_000)
            assert page.get_by_text("query AgentsToday").count() > 0, "no default document"
            # the explorer plugin opens from the sidebar and lists the root fields
            page.get_by_role("button", name="Show GraphiQL Explorer").click()
            explorer = page.locator(".graphiql-explorer-root")
            explorer.get_by_text("conversations").first.wait_for()
            assert explorer.get_by_text("workload").count() > 0

            result = _run_example(page, EXAMPLE)
            page.screenshot(path=ARTIFACTS / "graphiql-example.png")
        finally:
            browser.close()

    assert "errors" not in result, result
    (assessment,) = result["data"]["assessments"]["nodes"]
    conversation = assessment["segment"]["conversation"]
    assert conversation["conversationId"]
    segments = conversation["segments"]["nodes"]
    assert "CONVERSATION" in {s["kind"] for s in segments}
    scores = [a["scorePercentage"] for s in segments for a in s["assessments"]["nodes"]]
    assert any(score is not None for score in scores), segments
    assert page_errors == []
    assert left_loopback == [], "the page reached beyond loopback"


HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"


def _admin_key(engine: AsyncEngine) -> str:
    created = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "create", "--role", "admin", "--label", "browser",
         "--database", engine.url.render_as_string(hide_password=False)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return created.stdout.strip().splitlines()[-1]


def test_graphiql_with_auth_shows_where_the_token_goes(
    server_with_auth: str, small_engine: AsyncEngine
) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (see .ci/run)")
    key = _admin_key(small_engine)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.goto(f"{server_with_auth}/graphql")
            page.locator(".graphiql-execute-button").wait_for(timeout=20_000)
            hint = page.locator("#auth-hint")
            assert hint.is_visible() and "Headers tab" in hint.inner_text()
            # the Headers tab is the open one, and holds the template
            template = page.eval_on_selector(HEADERS_EDITOR, "node => node.CodeMirror.getValue()")
            assert json.loads(template) == {"Authorization": "Bearer <token>"}
            page.get_by_role("button", name="Hide this hint").click()
            assert not hint.is_visible()

            refused = _run_example(page, EXAMPLE, awaited="UNAUTHENTICATED")
            assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert hint.is_visible(), "a refused token brings the hint back"

            headers = json.dumps({"Authorization": f"Bearer {key}"})
            page.eval_on_selector(HEADERS_EDITOR, f"node => node.CodeMirror.setValue({headers!r})")
            result = _run_example(page, EXAMPLE)
            page.screenshot(path=ARTIFACTS / "graphiql-auth.png")
        finally:
            browser.close()
    assert "errors" not in result, result
    assert result["data"]["assessments"]["nodes"]
