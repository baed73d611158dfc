"""The person register on SQLite and PostgreSQL: loads, rejections, history, BIS replacement."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from kruispunt.feeds import FeedRejected
from kruispunt.identity import (
    NumberGenerator,
    NumberKind,
    RegisterError,
    Sex,
    find_person,
    load_register,
    number_text,
    person_number_keys,
    population,
    register_counts,
    replace_number,
)
from kruispunt.store import mutation_event
from tests.factories import household, person_row, write_register


def _count(engine: Engine, table_name: str) -> int:
    from kruispunt.store import metadata

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(metadata.tables[table_name])).scalar_one()


def test_load_then_query_as_of_a_date(engine: Engine, tmp_path: Path) -> None:
    gen = NumberGenerator(1)
    rows = household(gen)
    report = load_register(engine, write_register(tmp_path / "r.csv", rows), as_of=date(2024, 1, 1))
    assert (report.persons_added, report.persons_changed) == (3, 0)
    record = find_person(engine, rows[0]["insz"], date(2024, 6, 1))
    assert record is not None
    assert record.first_name == "Jan" and record.household_role == "head"
    assert {m.first_name for m in record.household} == {"Jan", "Els", "Lien"}
    assert record.address is not None and record.address.municipality_nis == "61031"
    assert register_counts(engine) == {"persons": 3, "households": 1}


def test_same_file_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.csv", household(NumberGenerator(2)))
    load_register(engine, path, as_of=date(2024, 1, 1))
    events = _count(engine, "mutation_event")
    again = load_register(engine, path, as_of=date(2024, 1, 1))
    assert not again.changed_anything
    assert _count(engine, "mutation_event") == events
    assert _count(engine, "address") == 3 and _count(engine, "register_load") == 1


def test_later_file_records_moves_as_history(engine: Engine, tmp_path: Path) -> None:
    gen = NumberGenerator(3)
    rows = household(gen)
    load_register(engine, write_register(tmp_path / "a.csv", rows), as_of=date(2024, 1, 1))
    moved = [
        dict(r, municipality_nis="62051", postal_code="4040", street="Rue Large", address_from="2024-05-01")
        for r in rows
    ]
    moved[2]["household_id"] = "H2"
    moved[2]["household_role"] = "head"
    report = load_register(engine, write_register(tmp_path / "b.csv", moved), as_of=date(2024, 5, 1))
    assert report.addresses_changed == 3 and report.households_changed == 1
    before = find_person(engine, rows[2]["insz"], date(2024, 4, 30))
    after = find_person(engine, rows[2]["insz"], date(2024, 5, 1))
    assert before is not None and after is not None
    assert (
        before.address is not None
        and before.address.municipality_nis == "61031"
        and before.household_id == "H1"
    )
    assert (
        after.address is not None and after.address.municipality_nis == "62051" and after.household_id == "H2"
    )
    assert before.address.valid_to == date(2024, 4, 30)
    assert len(after.address_history) == 2
    kinds = _event_kinds(engine)
    assert kinds.count("register.address_changed") == 3 and kinds.count("register.household_changed") == 1


def _event_kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(mutation_event.c.kind).order_by(mutation_event.c.seq)).scalars())


def test_population_at_date_excludes_the_dead_and_unborn(engine: Engine, tmp_path: Path) -> None:
    gen = NumberGenerator(4)
    rows = household(gen)
    rows[0]["death_date"] = "2020-03-01"
    load_register(engine, write_register(tmp_path / "r.csv", rows), as_of=date(2024, 1, 1))
    frame = population(engine, date(2021, 1, 1))
    assert sorted(frame["insz"].to_list()) == sorted([rows[1]["insz"], rows[2]["insz"]])
    assert frame["birth_date"].dtype.is_temporal()
    assert set(frame["municipality_nis"].to_list()) == {"61031"}
    assert population(engine, date(2005, 1, 1)).height == 2  # the child is not born yet, the father is alive


def test_bis_replacement_keeps_history_and_answers_for_both(engine: Engine, tmp_path: Path) -> None:
    gen = NumberGenerator(5)
    bis_number = gen.insz(date(1990, 6, 1), Sex.MALE, NumberKind.BIS)
    row = person_row(gen, insz=bis_number.number, birth=date(1990, 6, 1), sex_=Sex.MALE)
    row["insz"] = bis_number.number
    load_register(engine, write_register(tmp_path / "r.csv", [row]), as_of=date(2024, 1, 1))
    national = gen.insz(date(1990, 6, 1), Sex.MALE)
    replace_number(engine, bis_number.number, national.number)
    via_old = find_person(engine, bis_number.number)
    via_new = find_person(engine, national.formatted)
    assert via_old is not None and via_new is not None
    assert via_old.person_id == via_new.person_id and via_new.insz == national.number
    assert set(via_new.numbers) == {bis_number.number, national.number}
    with pytest.raises(RegisterError, match="already replaced"):
        replace_number(engine, bis_number.number, gen.insz(date(1990, 6, 1), Sex.MALE).number)
    assert "register.number_replaced" in _event_kinds(engine)
    keys = person_number_keys(engine).sort("current")
    texts = keys.select(number_text(pl.col("number")))["number"].to_list()
    assert texts == [bis_number.number, national.number]
    assert keys["current"].to_list() == [False, True]
    assert keys["person_id"].n_unique() == 1


@given(born=st.dates(date(2000, 1, 1), date(2009, 12, 31)), male=st.booleans(), seed=st.integers(0, 99))
def test_a_number_as_an_integer_comes_back_with_its_leading_zeros(born: date, male: bool, seed: int) -> None:
    number = NumberGenerator(seed).insz(born, Sex.MALE if male else Sex.FEMALE).number
    assert number.startswith("0")
    assert pl.select(number_text(pl.lit(int(number), pl.Int64))).item() == number


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"insz": "93051822362"}, "insz", "check digits"),
        ({"birth_date": "2021-02-30"}, "birth_date", "not a date"),
        ({"municipality_nis": "99999"}, "municipality_nis", "NIS code"),
        ({"postal_code": "1000"}, "postal_code", "postal code"),
        ({"household_role": "boss"}, "household_role", "head, partner"),
        ({"last_name": ""}, "last_name", "required"),
        ({"sex": "X"}, "sex", "M, F"),
        ({"death_date": "1900-01-01"}, "death_date", "before the birth"),
    ],
)
def test_a_wrong_row_rejects_the_whole_file(
    engine: Engine, tmp_path: Path, change: dict[str, str], field: str, reason: str
) -> None:
    gen = NumberGenerator(6)
    rows = household(gen, "H9")
    rows[1].update(change)
    with pytest.raises(FeedRejected) as caught:
        load_register(engine, write_register(tmp_path / "bad.csv", rows))
    error = caught.value.errors[0]
    assert (error.line, error.field) == (3, field)
    assert reason in error.reason and error.file.endswith("bad.csv")
    assert _count(engine, "person") == 0 and _count(engine, "mutation_event") == 0


def test_duplicates_missing_columns_and_truncation_are_named(engine: Engine, tmp_path: Path) -> None:
    gen = NumberGenerator(7)
    rows = household(gen)
    with pytest.raises(FeedRejected, match="duplicate INSZ, already on line 2"):
        load_register(engine, write_register(tmp_path / "dup.csv", [*rows, rows[0]]))
    columns = tuple(
        c for c in __import__("kruispunt.identity", fromlist=["x"]).REGISTER_COLUMNS if c != "street"
    )
    with pytest.raises(FeedRejected, match="field street: required column is missing"):
        load_register(engine, write_register(tmp_path / "cols.csv", rows, columns))
    full = write_register(tmp_path / "full.csv", rows).read_text()
    truncated = tmp_path / "truncated.csv"
    truncated.write_text(full[: len(full) - 40])
    with pytest.raises(FeedRejected, match=r"line 4: has \d+ fields"):
        load_register(engine, truncated)
    assert _count(engine, "person") == 0


def test_household_with_two_heads_is_refused(engine: Engine, tmp_path: Path) -> None:
    rows = household(NumberGenerator(8))
    rows[1]["household_role"] = "head"
    with pytest.raises(FeedRejected, match="already has a head on line 2"):
        load_register(engine, write_register(tmp_path / "heads.csv", rows))


def test_parquet_feed_loads_like_csv(engine: Engine, tmp_path: Path) -> None:
    import polars as pl

    rows = household(NumberGenerator(9))
    path = tmp_path / "r.parquet"
    pl.DataFrame(rows).write_parquet(path)
    assert load_register(engine, path, as_of=date(2024, 1, 1)).persons_added == 3
