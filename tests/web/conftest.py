"""Web fixtures: a seeded SQLite home and the pages served by a tiny FastAPI app in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kruispunt.bootstrap import App, bootstrap
from kruispunt.config import Settings
from kruispunt.web import create_router
from tests.web.seed import Seeded, seed_accounts, seed_register


@pytest.fixture
def seeded_app(tmp_path: Path) -> Iterator[tuple[App, Seeded]]:
    app = bootstrap(Settings(home=tmp_path / "home"))
    seeded = seed_register(app.engine, tmp_path)
    seed_accounts(app.engine, seeded)
    yield app, seeded
    app.engine.dispose()


@pytest.fixture
def client(seeded_app: tuple[App, Seeded]) -> Iterator[TestClient]:
    state, _ = seeded_app
    api = FastAPI()
    api.include_router(create_router(lambda: state))
    with TestClient(api, base_url="http://testserver") as test_client:
        yield test_client
