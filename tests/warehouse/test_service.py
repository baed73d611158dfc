"""The build from the database: register histories and GSS periods in, facts out (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from kruispunt import identity, statuses, warehouse
from kruispunt.identity import NumberGenerator
from tests.factories import household, write_register


def write_statuses(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(statuses.STATUS_COLUMNS)
        writer.writerows(rows)
    return path


def load_family(engine: Engine, folder: Path) -> list[dict[str, str]]:
    """A couple with a child in Huy; the father unemployed from 2024, the mother a VT holder."""
    rows = household(NumberGenerator(5))
    identity.load_register(engine, write_register(folder / "register.csv", rows), as_of=date(2024, 1, 1))
    feed = [
        (rows[0]["insz"], "WERKLOOS", "2024-01-01", "", "RVA"),
        (rows[1]["insz"], "VT", "2020-01-01", "", "NIC"),
    ]
    statuses.load_status_feed(engine, write_statuses(folder / "statuses.csv", feed), source="*")
    return rows


def test_build_from_the_register_and_the_statuses(engine: Engine, tmp_path: Path) -> None:
    load_family(engine, tmp_path)
    home = tmp_path / "home"
    report = warehouse.build(engine, home, "2023Q4:2024Q1")
    assert report.quarters == {"2023Q4": 3, "2024Q1": 3}
    facts = pl.read_parquet(home / "warehouse" / "facts" / "quarter=2024Q1" / "facts.parquet").sort("age")
    assert facts["position"].to_list() == ["PUPIL_STUDENT", "WORKING_AGE_NOT_OBSERVED", "UNEMPLOYED"]
    assert facts["has_vt"].to_list() == [False, True, False]
    assert set(facts["municipality"]) == {"61031"} and set(facts["household_type"]) == {
        "couple_with_children"
    }
    earlier = pl.read_parquet(home / "warehouse" / "facts" / "quarter=2023Q4" / "facts.parquet")
    assert "UNEMPLOYED" not in earlier["position"].to_list()
    assert set(earlier["pid"]) == set(facts["pid"])
