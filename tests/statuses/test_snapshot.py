"""The columnar snapshot behind periods_frame always equals what the tables say, on both engines.

Every path is taken: the loader bringing the stored snapshot forward, readers replaying the events after
it (and storing the result), a reader finding no snapshot, BIS numbers replaced between loads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, delete, select

from kruispunt.identity import NumberGenerator, NumberKind, Sex, load_register, replace_number
from kruispunt.statuses import load_status_feed, periods_frame, snapshot
from kruispunt.statuses.queries import read_periods
from kruispunt.statuses.tables import status_snapshot
from tests.factories import person_row, write_register
from tests.statuses.helpers import registered_household, write_statuses

ORDER = ["person_id", "status", "source", "start_date"]


def assert_exact(engine: Engine) -> None:
    from_snapshot = periods_frame(engine)
    assert from_snapshot.schema == read_periods(engine).schema
    assert_frame_equal(from_snapshot.sort(ORDER), read_periods(engine).sort(ORDER))
    for codes in (["LEEFLOON"], ["IVT", "IT", "WERKLOOS"]):
        assert_frame_equal(
            periods_frame(engine, statuses=codes).sort(ORDER),
            read_periods(engine, statuses=codes).sort(ORDER),
        )


def stored_upto(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(status_snapshot.c.upto_seq)).scalar()


@pytest.mark.parametrize(
    ("maintain_from", "refresh_from"),
    [(0, 0), (0, 10**9), (10**9, 0), (10**9, 10**9)],
    ids=["loader-and-readers-store", "loader-stores", "readers-store", "readers-replay"],
)
def test_snapshot_equals_the_tables_through_every_kind_of_change(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, maintain_from: int, refresh_from: int
) -> None:
    monkeypatch.setattr(snapshot, "MAINTAIN_FROM", maintain_from)
    monkeypatch.setattr(snapshot, "REFRESH_FROM", refresh_from)
    jan, els, lien = registered_household(engine, tmp_path)
    gen = NumberGenerator(9)
    bis = gen.insz(date(1990, 3, 3), Sex.FEMALE, NumberKind.BIS).number
    load_register(
        engine,
        write_register(tmp_path / "r.csv", [person_row(gen, insz=bis, birth_date="", sex="")]),
        as_of=date(2020, 1, 1),
    )
    assert_exact(engine)  # nothing loaded yet
    steps: list[tuple[str, str, list[tuple[str, str, str, str, str]]]] = [
        (
            "OCMW",
            "full",
            [
                (jan, "LEEFLOON", "2020-01-01", "", "OCMW"),
                (els, "LEEFLOON", "2020-01-01", "2020-12-31", "OCMW"),
                (els, "LEEFLOON", "2021-01-01", "2021-06-30", "OCMW"),  # adjacent: merges
                (lien, "EQUIV_LEEFLOON", "2020-05-01", "", "OCMW"),
            ],
        ),
        (
            "RVA",
            "full",
            [(bis, "WERKLOOS", "2020-01-01", "", "RVA"), (jan, "WERKLOOS", "2019-01-01", "", "RVA")],
        ),
        (
            "OCMW",
            "full",
            [
                (jan, "LEEFLOON", "2020-01-01", "2021-03-31", "OCMW"),  # ended
                (els, "LEEFLOON", "2020-02-01", "2020-10-31", "OCMW"),  # corrected, split in two
                (els, "LEEFLOON", "2020-12-01", "2021-06-30", "OCMW"),
            ],  # lien's period removed
        ),
        (
            "DG_HAN",
            "delta",
            [(jan, "IVT", "2018-01-01", "", "DG_HAN"), (els, "IT", "2019-01-01", "", "DG_HAN")],
        ),
        ("DG_HAN", "delta", [(jan, "IVT", "2018-01-01", "2022-08-31", "DG_HAN")]),
        # the period split above comes back whole: the last event naming a period decides
        ("OCMW", "full", [(els, "LEEFLOON", "2020-01-01", "2021-06-30", "OCMW")]),
        ("OCMW", "full", [(els, "LEEFLOON", "2020-02-01", "2020-10-31", "OCMW")]),
    ]
    for number, (source, mode, rows) in enumerate(steps):
        feed = write_statuses(tmp_path / f"step{number}.csv", rows)
        load_status_feed(engine, feed, source=source, mode=mode)  # type: ignore[arg-type]
        assert_exact(engine)
        if number == 1:
            national = gen.insz(date(1990, 3, 3), Sex.FEMALE).number
            replace_number(engine, bis, national)
            assert_exact(engine)
            assert periods_frame(engine, statuses=["WERKLOOS"]).filter(pl.col("insz") == national).height == 1
    assert stored_upto(engine) is not None


def test_loads_keep_the_stored_snapshot_at_their_last_event(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "MAINTAIN_FROM", 0)
    monkeypatch.setattr(snapshot, "REFRESH_FROM", 10**9)
    jan, els, _ = registered_household(engine, tmp_path)
    feed = write_statuses(tmp_path / "a.csv", [(jan, "VT", "2020-01-01", "", "NIC")])
    load_status_feed(engine, feed, source="NIC")  # into an empty table: the loader starts the snapshot
    with engine.connect() as conn:
        assert stored_upto(engine) == snapshot.newest_seq(conn)
    load_status_feed(
        engine, write_statuses(tmp_path / "b.csv", [(els, "VT", "2021-01-01", "", "NIC")]), source="NIC"
    )
    with engine.connect() as conn:
        assert stored_upto(engine) == snapshot.newest_seq(conn)
    assert_exact(engine)


def test_without_a_snapshot_readers_read_the_tables_and_store_one(engine: Engine, tmp_path: Path) -> None:
    jan, els, _ = registered_household(engine, tmp_path)
    rows = [(jan, "VT", "2020-01-01", "", "NIC"), (els, "VT_DEPENDANT", "2020-01-01", "2020-05-31", "NIC")]
    load_status_feed(engine, write_statuses(tmp_path / "a.csv", rows), source="NIC")
    with engine.begin() as conn:
        conn.execute(delete(status_snapshot))  # as after the migration, on a table with periods
    load_status_feed(engine, write_statuses(tmp_path / "b.csv", rows[:1]), source="NIC")
    assert stored_upto(engine) is None  # the loader cannot start from nothing on a filled table
    assert_exact(engine)
    with engine.connect() as conn:
        assert stored_upto(engine) == snapshot.newest_seq(conn)


def test_a_number_replaced_while_a_load_writes_is_in_the_snapshot_it_leaves(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader computes its snapshot beside its writes, from the state before them; a register change
    committed meanwhile (possible on PostgreSQL, where writers of other rooms do not wait) still counts."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets no other writer commit while a load writes")
    monkeypatch.setattr(snapshot, "MAINTAIN_FROM", 0)
    monkeypatch.setattr(snapshot, "REFRESH_FROM", 10**9)
    gen = NumberGenerator(9)
    bis = gen.insz(date(1990, 3, 3), Sex.FEMALE, NumberKind.BIS).number
    national = gen.insz(date(1990, 3, 3), Sex.FEMALE).number
    load_register(
        engine,
        write_register(tmp_path / "r.csv", [person_row(gen, insz=bis, birth_date="", sex="")]),
        as_of=date(2020, 1, 1),
    )
    prepare = snapshot.prepare

    def prepare_then_replace(*args: Any, **kwargs: Any) -> snapshot.PendingSnapshot | None:
        pending = prepare(*args, **kwargs)
        with ThreadPoolExecutor(1) as other_writer:  # its own connection and transaction
            other_writer.submit(replace_number, engine, bis, national).result(timeout=30)
        return pending

    monkeypatch.setattr(snapshot, "prepare", prepare_then_replace)
    feed = write_statuses(tmp_path / "a.csv", [(bis, "WERKLOOS", "2020-01-01", "", "RVA")])
    load_status_feed(engine, feed, source="RVA")
    with engine.connect() as conn:
        assert stored_upto(engine) == snapshot.newest_seq(conn)  # the loader stored, no reader replayed
    assert periods_frame(engine)["insz"].to_list() == [national]
    assert_exact(engine)
