"""A warehouse built once per test session from a synthetic population (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_dwh import synthetic_sources
from kruispunt import warehouse


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dwh")
    warehouse.build_from_sources(
        home, synthetic_sources(30_000, seed=7), warehouse.quarter_range("2024Q3:2024Q4")
    )
    return home
