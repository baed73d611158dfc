"""Columnar reads give the same typed frame on every path: PostgreSQL, small SQLite, large SQLite."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine

from kruispunt.identity import NumberGenerator, load_register, population
from kruispunt.store import bulk
from tests.factories import household, write_register


def test_population_frame_is_typed_alike_on_both_engines(engine: Engine, tmp_path: Path) -> None:
    rows = household(NumberGenerator(21))
    rows[0]["death_date"] = "2030-01-01"
    load_register(engine, write_register(tmp_path / "r.csv", rows), as_of=date(2024, 1, 1))
    frame = population(engine, date(2024, 6, 1))
    assert frame.schema["person_id"] == pl.Int64
    assert frame.schema["birth_date"] == pl.Date
    assert frame.schema["municipality_nis"] == pl.String
    assert frame.height == 3


def test_large_sqlite_reads_stream_from_a_child_process_with_the_same_result(
    sqlite_settings: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kruispunt.bootstrap import bootstrap
    from kruispunt.config import Settings

    assert isinstance(sqlite_settings, Settings)
    engine = bootstrap(sqlite_settings).engine
    gen = NumberGenerator(22)
    rows = household(gen) + household(gen, "H2")
    load_register(engine, write_register(tmp_path / "r.csv", rows), as_of=date(2024, 1, 1))
    in_process = population(engine, date(2024, 6, 1)).sort("person_id")
    monkeypatch.setattr(bulk, "SQLITE_ARROW_THRESHOLD_BYTES", 0)
    streamed = population(engine, date(2024, 6, 1)).sort("person_id")
    assert_frame_equal(in_process, streamed)
    # a write after the read still works: the child process did not disturb this process's locks
    load_register(
        engine,
        write_register(tmp_path / "r2.csv", [dict(rows[0], street="Rue Neuve")]),
        as_of=date(2024, 7, 1),
    )
    assert population(engine, date(2024, 8, 1)).height == 6
