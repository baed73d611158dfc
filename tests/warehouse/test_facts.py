"""Person-quarter facts: position order, age on the reference day, households, geography, pseudonyms."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kruispunt import warehouse
from kruispunt.warehouse.facts import fact_schema, prepare, quarter_facts, without_overlaps
from kruispunt.warehouse.keys import person_pseudonyms
from kruispunt.warehouse.quarters import Quarter, quarter_range
from tests.warehouse.frames import BRUSSELS, HUY, LIEGE, family_sources


def facts_at(day: date) -> dict[int, dict[str, object]]:
    sources = family_sources()
    ids = sources.persons["person_id"]
    pseudonyms = pl.DataFrame({"person_id": ids, "pid": ids * 1000})  # readable pids for the test
    frame = quarter_facts(prepare(sources, pseudonyms), day)
    return {int(row["pid"]) // 1000: row for row in frame.iter_rows(named=True)}


def test_positions_follow_the_documented_order_on_the_reference_day() -> None:
    facts = facts_at(date(2024, 12, 31))
    assert facts[1]["position"] == "EMPLOYED" and facts[1]["has_vt"] and facts[1]["has_tijd_werkloos"]
    assert facts[2]["position"] == "SOCIAL_ASSISTANCE" and not facts[2]["has_vt"]
    assert facts[3]["position"] == "PUPIL_STUDENT"
    assert facts[4]["position"] == "RETIRED" and facts[4]["has_igo"]
    # Unemployed outranks disability: closer to the labour market.
    assert facts[6]["position"] == "UNEMPLOYED" and facts[6]["has_ivt"]
    assert facts[7]["position"] == "WORKING_AGE_NOT_OBSERVED"
    assert 5 not in facts  # died on 2024-05-31


def test_a_period_ending_before_the_reference_day_does_not_count() -> None:
    facts = facts_at(date(2024, 9, 30))
    assert facts[1]["position"] == "WORKING_AGE_NOT_OBSERVED"  # temporary unemployment starts in Q4
    assert facts[2]["position"] == "SOCIAL_ASSISTANCE" and facts[2]["has_vt"]
    assert facts_at(date(2024, 3, 31))[5]["position"] == "WORKING_AGE_NOT_OBSERVED"


def test_age_household_and_geography() -> None:
    facts = facts_at(date(2024, 12, 31))
    assert facts[7]["age"] == 34 and facts[7]["age_band"] == "25-34"
    assert facts[3]["age"] == 16 and facts[3]["age_band"] == "15-24" and facts[3]["age_band5"] == "15-19"
    assert facts[4]["age"] == 74 and facts[4]["municipality"] == LIEGE  # moved in Q4
    assert facts_at(date(2024, 9, 30))[4]["municipality"] == HUY
    assert {facts[i]["household_type"] for i in (1, 2, 3)} == {"couple_with_children"}
    assert facts[4]["household_type"] == "single"
    assert facts[6]["household_type"] == "unknown" and facts[6]["sex"] == "unknown"
    assert facts[6]["municipality"] == BRUSSELS and facts[6]["province"] == "04000"
    assert facts[1]["arrondissement"] == "61000" and facts[1]["region"] == "03000"


def test_pseudonyms_are_keyed_stable_and_distinct() -> None:
    ids = pl.Series("person_id", range(1, 10_001), dtype=pl.Int64)
    first = person_pseudonyms(ids, b"k" * 32)
    assert first.n_unique() == 10_000 and (first >= 0).all()
    assert first.equals(person_pseudonyms(ids, b"k" * 32))
    assert not (first == person_pseudonyms(ids, b"j" * 32)).any()


def test_build_writes_quarter_partitions_without_person_ids_and_keeps_the_key_apart(tmp_path: Path) -> None:
    report = warehouse.build_from_sources(tmp_path, family_sources(), quarter_range("2024Q2:2024Q4"))
    assert report.quarters == {"2024Q2": 6, "2024Q3": 6, "2024Q4": 6}
    partition = tmp_path / "warehouse" / "facts" / "quarter=2024Q4" / "facts.parquet"
    frame = pl.read_parquet(partition)
    assert frame.columns == list(fact_schema())
    assert "person_id" not in frame.columns and "insz" not in frame.columns
    assert not set(frame["pid"].to_list()) & set(range(1, 8))
    key = tmp_path / "keys" / "warehouse.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not any(p.name.endswith(".key") for p in (tmp_path / "warehouse").rglob("*"))
    # DuckDB reads the quarter back from the hive partition.
    quarters = duckdb.sql(
        f"SELECT DISTINCT quarter FROM read_parquet('{tmp_path}/warehouse/facts/*/*.parquet', "
        "hive_partitioning = true) ORDER BY 1"
    ).fetchall()
    assert [q[0] for q in quarters] == ["2024Q2", "2024Q3", "2024Q4"]
    # Rebuilding one quarter keeps the others and the same pseudonyms.
    warehouse.build_from_sources(tmp_path, family_sources(), quarter_range("2024Q4"))
    assert warehouse.built_quarters(tmp_path) == ["2024Q2", "2024Q3", "2024Q4"]
    assert pl.read_parquet(partition)["pid"].sort().equals(frame["pid"].sort())


def test_quarters_parse_and_refuse_nonsense() -> None:
    assert [str(q) for q in quarter_range("2023Q3:2024Q2")] == ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    assert Quarter.parse("2024-q1").last_day == date(2024, 3, 31)
    assert Quarter.last_complete(date(2024, 12, 30)) == Quarter(2024, 3)
    assert Quarter.last_complete(date(2024, 12, 31)) == Quarter(2024, 4)
    with pytest.raises(warehouse.WarehouseError, match="not a quarter"):
        quarter_range("2024Q5")
    with pytest.raises(warehouse.WarehouseError, match="ends before it starts"):
        quarter_range("2024Q4:2024Q1")


def test_overlapping_periods_leave_one_per_day_the_later_start_winning() -> None:
    periods = pl.DataFrame(
        {
            "person_id": [1, 1, 1, 2],
            "valid_from": [date(2020, 1, 1), date(2022, 1, 1), date(2022, 1, 1), date(2020, 1, 1)],
            "valid_to": [None, date(2023, 1, 1), None, None],
            "where": ["a", "b", "c", "d"],
        }
    )
    result = without_overlaps(periods)
    assert result["where"].to_list() == ["a", "c", "d"]
    assert result["valid_to"].to_list() == [date(2021, 12, 31), None, None]
