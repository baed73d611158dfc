"""Bulk inserts write the same rows on every path (COPY, executemany, SQLite's staging file), inside the
caller's transaction."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from kruispunt.statuses import status_period
from kruispunt.store import bulk, bulk_insert, indexes_deferred, read_frame

_ROWS = pl.DataFrame(
    {
        "person_id": [3, 1, 2, 7],
        "status": ["VT", "IGO", "VT", "LEEFLOON"],
        "source": ["NIC", "FPD", "NIC", "OCMW"],
        "start_date": [date(2020, 1, 1), date(2021, 2, 3), date(2019, 12, 31), date(2024, 2, 29)],
        "end_date": [None, date(2022, 1, 1), None, date(2024, 3, 1)],
        "recorded_at": [datetime(2024, 5, 6, 7, 8, 9, 123456)] * 4,
        "superseded_at": pl.Series([None] * 4, dtype=pl.Datetime("us")),
        "load_id": [9, 9, 9, 9],
    }
)


def _stored(engine: Engine) -> pl.DataFrame:
    columns = [status_period.c[c] for c in _ROWS.columns]
    return read_frame(engine, select(*columns).order_by(status_period.c.id))


@pytest.mark.parametrize("staged", [False, True], ids=["executemany", "staging-file"])
def test_bulk_insert_writes_every_row_and_value(
    engine: Engine, staged: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if staged:
        monkeypatch.setattr(bulk, "SQLITE_STAGE_FROM_ROWS", 1)
        monkeypatch.setattr(bulk, "_CONSTANT_FROM_ROWS", 1)
        monkeypatch.setattr(bulk, "_STAGE_SLICE", 3)  # two staging files, copied in order
    with engine.begin() as conn:
        assert bulk_insert(conn, status_period, _ROWS) == 4
    assert_frame_equal(_stored(engine), _ROWS, check_dtypes=False)
    with engine.begin() as conn:  # the staging file was detached when the connection went back
        assert bulk_insert(conn, status_period, _ROWS.with_columns(pl.lit(10).alias("load_id"))) == 4
    assert _stored(engine).height == 8


def test_a_staged_insert_rolls_back_with_its_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "SQLITE_STAGE_FROM_ROWS", 1)
    with pytest.raises(RuntimeError, match="late failure"), engine.begin() as conn:
        bulk_insert(conn, status_period, _ROWS)
        raise RuntimeError("late failure")
    assert _stored(engine).is_empty()


def test_a_failed_staging_write_writes_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("staging files exist on SQLite only")
    monkeypatch.setattr(bulk, "SQLITE_STAGE_FROM_ROWS", 1)
    monkeypatch.setattr(bulk, "_STAGE_SLICE", 2)  # the first of two slices is copied before the second fails
    failing = "import sys\nif sys.argv[2].endswith('1.sqlite'):\n    sys.exit('disk full')\n"
    monkeypatch.setattr(bulk, "_STAGE_WRITER", failing + bulk._STAGE_WRITER)
    with pytest.raises(RuntimeError, match="staging write failed: disk full"), engine.begin() as conn:
        bulk_insert(conn, status_period, _ROWS)
    assert _stored(engine).is_empty()


def _structure(engine: Engine) -> tuple[list[str], list[str]]:
    found = inspect(engine)
    indexes = sorted(str(i["name"]) for i in found.get_indexes("status_period"))
    return indexes, list(found.get_pk_constraint("status_period")["constrained_columns"])


def test_indexes_deferred_builds_them_again_and_a_failure_keeps_them(engine: Engine) -> None:
    before = _structure(engine)
    assert before == (["ix_status_period_person"], ["id"])
    with pytest.raises(RuntimeError, match="late failure"), engine.begin() as conn:
        with indexes_deferred(conn, status_period, when=True):
            bulk_insert(conn, status_period, _ROWS)
        raise RuntimeError("late failure")
    assert _structure(engine) == before
    with engine.begin() as conn, indexes_deferred(conn, status_period, when=True):
        bulk_insert(conn, status_period, _ROWS)
    assert _structure(engine) == before
    assert_frame_equal(_stored(engine), _ROWS, check_dtypes=False)
    with engine.connect() as conn:
        taken = conn.execute(select(func.min(status_period.c.id))).scalar_one()
    with engine.begin() as conn, pytest.raises(IntegrityError):  # the primary key holds again
        conn.execute(insert(status_period).values(id=taken, **_ROWS.row(0, named=True)))


def test_many_staged_inserts_share_one_transaction(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Staging files stay attached until the transaction ends; later inserts still find a place."""
    if engine.dialect.name == "postgresql":
        pytest.skip("staging files exist on SQLite only")
    monkeypatch.setattr(bulk, "SQLITE_STAGE_FROM_ROWS", 1)
    monkeypatch.setattr(bulk, "_STAGE_SLICE", 1)
    with engine.begin() as conn:
        for load_id in range(8):
            bulk_insert(conn, status_period, _ROWS.with_columns(pl.lit(load_id).alias("load_id")))
    assert _stored(engine).height == 8 * _ROWS.height
