"""Populations generated once per test session and shared by the synth tests (they only read them)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from kruispunt.synth import Manifest, generate

NATIONAL_SAMPLE = 250_000


@pytest.fixture(scope="session")
def national(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """A quarter of a million persons spread over all of Belgium."""
    out = tmp_path_factory.mktemp("national")
    return out, generate(NATIONAL_SAMPLE, 11, out=out)


@pytest.fixture(scope="session")
def register(national: tuple[Path, Manifest]) -> pl.DataFrame:
    """The national register file, with dates parsed."""
    return pl.read_parquet(national[0] / "register.parquet").with_columns(
        pl.col("birth_date", "death_date", "address_from").str.to_date()
    )


@pytest.fixture(scope="session")
def statuses(national: tuple[Path, Manifest]) -> pl.DataFrame:
    """The national status file, with dates parsed."""
    return pl.read_parquet(national[0] / "statuses.parquet").with_columns(
        pl.col("start_date", "end_date").str.to_date()
    )
