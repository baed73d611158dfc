"""Running a DuckDB query over the warehouse's Parquet files and getting a Polars frame back."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl


def query(sql: str, params: list[Any]) -> pl.DataFrame:
    """Run ``sql`` with positional ``params`` on a fresh in-memory DuckDB; the result as a frame."""
    with duckdb.connect() as conn:
        arrow = conn.sql(sql, params=params).to_arrow_table()
    assert arrow is not None
    frame = pl.from_arrow(arrow)
    assert isinstance(frame, pl.DataFrame)
    return frame
