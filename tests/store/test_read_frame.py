"""Columnar reads give the same typed frame on every path: PostgreSQL, small SQLite, large SQLite."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, or_, select

from kruispunt.identity import NumberGenerator, load_register, population
from kruispunt.identity.tables import person, person_number
from kruispunt.store import bulk, read_frame
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
    rows[0]["death_date"] = "2030-01-01"
    load_register(engine, write_register(tmp_path / "r.csv", rows), as_of=date(2024, 1, 1))
    # a filtered read with bound parameters of every kind, and a whole-table read
    filtered = select(person.c.id, person.c.birth_date, person.c.death_date, person.c.updated_at).where(
        person.c.birth_date > date(1900, 1, 1),
        person.c.updated_at > datetime(2000, 1, 1),
        or_(person.c.sex == "M", person.c.sex == "F"),
    )
    whole = select(person_number.c.insz, person_number.c.person_id, person_number.c.replaced_at)
    in_process = [read_frame(engine, q).sort(q.selected_columns[1].key) for q in (filtered, whole)]
    children = []
    original = bulk._read_sqlite_arrow
    monkeypatch.setattr(bulk, "_read_sqlite_arrow", lambda *a: children.append(a) or original(*a))
    assert read_frame(engine, filtered).height == 6  # below the size threshold: in process
    assert children == []
    monkeypatch.setattr(bulk, "SQLITE_ARROW_THRESHOLD_BYTES", 0)
    assert_frame_equal(read_frame(engine, filtered, bulk=True).sort("birth_date"), in_process[0])
    assert_frame_equal(read_frame(engine, whole).sort("person_id"), in_process[1])  # a whole table
    assert len(children) == 2
    read_frame(engine, filtered)  # a filtered read is not assumed to be large
    assert len(children) == 2
    assert read_frame(engine, filtered.where(person.c.id < 0), bulk=True).schema == in_process[0].schema
    # a write after the read still works: the child process did not disturb this process's locks
    load_register(
        engine,
        write_register(tmp_path / "r2.csv", [dict(rows[0], street="Rue Neuve")]),
        as_of=date(2024, 7, 1),
    )
    assert population(engine, date(2024, 8, 1)).height == 6
