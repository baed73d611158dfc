"""Bulk inserts write the same rows on every path (COPY, executemany, SQLite's staging file), inside the
caller's transaction."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, select

from kruispunt.statuses import status_period
from kruispunt.store import bulk, bulk_insert, read_frame

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
