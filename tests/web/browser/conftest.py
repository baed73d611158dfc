"""Browser tests: the real server (uvicorn, ``kruispunt.api.create_app``) on 127.0.0.1 and a free port,
over a temporary SQLite home seeded with a small synthetic municipality, driven by Debian's chromium
through Playwright. Never downloads a browser: without ``/usr/bin/chromium`` the tests skip."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from kruispunt.api import create_app
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from tests.web.browser.world import World, build_world

CHROMIUM = Path(os.environ.get("KRUISPUNT_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    home = tmp_path_factory.mktemp("web-browser") / "home"
    app = bootstrap(Settings(home=home))
    try:
        return build_world(app.engine, home)
    finally:
        app.engine.dispose()


@pytest.fixture(scope="session")
def server(world: World) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(home=world.home)), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no chromium: install Debian's package (apt-get install chromium); never downloaded")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), args=ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(base_url=server, locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def shoot(page: object, name: str) -> None:
    """Keep a full-page screenshot under test-artifacts/web/ (git-ignored)."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
