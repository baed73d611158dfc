"""A small world for the hub (see tests/hub_world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kruispunt.api import create_app
from kruispunt.config import Settings
from tests.hub_world import World, build_world


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path, seed=7)


@pytest.fixture
def client(world: World, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
