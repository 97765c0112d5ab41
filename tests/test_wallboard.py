"""The wallboard in Debian's Chromium, cut off from everything but loopback: it goes live, and its
tiles follow the events posted to the served gateway; with authentication on it asks for a token
and works once given one. A screenshot lands in test-artifacts/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from playwright.sync_api import Page, Route, sync_playwright

from gateway.wallboard import ASSETS, missing
from tests.realtime_script import created, reservation, task
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LOOPBACK

SECRET = "w" * 32


@pytest.fixture
def browser_page() -> Iterator[tuple[Page, list[str]]]:
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.route("**/*", only_loopback)
        yield page, blocked
        browser.close()
    assert blocked == [], blocked


def _post(url: str, events: list[dict[str, Any]], token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(f"{url}/events", json=events, headers=headers)
    assert answer.status_code == 200, answer.text


def _figure(page: Page, queue: str, figure: str) -> str:
    locator = page.locator(f'[data-queue="{queue}"] [data-figure="{figure}"] .value')
    return locator.inner_text(timeout=5_000)


def _wait_for(page: Page, queue: str, figure: str, value: str) -> None:
    page.wait_for_function(
        """([q, f, v]) => {
            const el = document.querySelector(`[data-queue="${q}"] [data-figure="${f}"] .value`);
            return el !== null && el.textContent === v;
        }""",
        arg=[queue, figure, value],
        timeout=5_000,
    )


def test_the_assets_are_installed_and_pinned() -> None:
    assert missing() == []
    assert {a.package for a in ASSETS} == {"graphql-ws", "uplot"}


def test_the_wallboard_follows_the_events(
    served_live: str, browser_page: tuple[Page, list[str]]
) -> None:
    page, _ = browser_page
    url = served_live
    page.goto(f"{url}/wallboard")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('live')")
    # 'live' is the connection; the first picture follows it (later on PostgreSQL than SQLite)
    page.locator("#empty").wait_for(state="visible", timeout=5_000)
    now = int(time.time())
    _post(url, [created(now, "WKada", "Available"),
                task("task.created", now, "A"), task("task-queue.entered", now, "A", "Sales")])  # fmt: skip
    _wait_for(page, "Sales", "waiting", "1")
    assert _figure(page, "Sales", "available") == "0"
    _post(url, [reservation("reservation.created", now + 1, "A", "WKada", "Sales"),
                reservation("reservation.accepted", now + 2, "A", "WKada", "Sales")])  # fmt: skip
    _wait_for(page, "Sales", "waiting", "0")
    _wait_for(page, "Sales", "SL today", "100%")
    assert _figure(page, "Sales", "available") == "1"
    assert page.locator("#chart canvas").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wallboard.png"), full_page=True)


def test_with_authentication_on_the_page_asks_for_a_token(
    served_auth: str, browser_page: tuple[Page, list[str]]
) -> None:
    page, _ = browser_page
    page.goto(f"{served_auth}/wallboard")
    page.wait_for_function("document.getElementById('status').textContent.includes('access token')")
    token = jwt.encode({"sub": "wall", "role": "admin", "exp": int(time.time()) + 600}, SECRET)
    page.click("#settings-toggle")
    page.fill("#token", token)
    page.click("#settings button[type=submit]")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('live')")
    now = int(time.time())
    _post(
        served_auth,
        [task("task.created", now, "B"), task("task-queue.entered", now, "B", "VIP")],
        token,
    )
    _wait_for(page, "VIP", "waiting", "1")


@pytest.fixture
def served_live(tmp_path: Path) -> Iterator[str]:
    yield from _served(tmp_path, "off", {})


@pytest.fixture
def served_auth(tmp_path: Path) -> Iterator[str]:
    yield from _served(tmp_path, "on", {"INSIGHTS_JWT_SECRET": SECRET})


def _served(tmp_path: Path, auth: str, env: dict[str, str]) -> Iterator[str]:
    import asyncio

    from tests.ingest_helpers import fresh_engine
    from tests.served import served

    engine = asyncio.run(_fresh(tmp_path, fresh_engine))
    with served(engine, tmp_path / "server.log", auth=auth, env=env) as url:
        yield url


async def _fresh(tmp_path: Path, make: Any) -> str:
    engine = await make(tmp_path / "wall.db")
    url: str = engine.url.render_as_string(hide_password=False)
    await engine.dispose()
    return url
