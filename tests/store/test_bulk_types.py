"""Bulk inserts keep every value of every column type the rooms write, whichever COPY format carries it:
binary where each column has a wire type, CSV where one does not (here: a numeric column)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError

from kruispunt.store import bulk, bulk_insert, read_frame

_metadata = MetaData()
_wide = Table(
    "bulk_wide",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("big", BigInteger),
    Column("small", SmallInteger),
    Column("plain", Integer),
    Column("flag", Boolean),
    Column("day", Date),
    Column("moment", DateTime),
    Column("code", String(40)),
    Column("note", Text),
    Column("blob", LargeBinary),
)
_with_numeric = Table("bulk_numeric", _metadata, Column("code", String(10)), Column("amount", Numeric(12, 2)))

_ROWS = pl.DataFrame(
    {
        "big": [2**62, -1, None],
        "small": [-32768, 32767, 0],
        "plain": [2**31 - 1, None, -(2**31)],
        "flag": [True, False, None],
        "day": [date(1900, 1, 1), date(2024, 2, 29), None],
        "moment": [datetime(2024, 5, 6, 7, 8, 9, 123456), None, datetime(1970, 1, 1)],
        "code": ["VT", "", None],
        "note": ['quote " comma , newline \n tab \t backslash \\N', "é ü ß 名", None],
        "blob": [b"\x00\x01\xff", b"", None],
    },
    # as frames usually arrive: integers wider than the column
    schema_overrides={"small": pl.Int64, "plain": pl.Int64},
)


@pytest.fixture
def wide(engine: Engine) -> Iterator[Engine]:
    _metadata.create_all(engine)
    yield engine
    _metadata.drop_all(engine)


def _stored(engine: Engine, table: Table, names: list[str]) -> pl.DataFrame:
    return read_frame(engine, select(*(table.c[n] for n in names)).order_by(table.c[names[0]]))


def test_every_wire_type_round_trips(wide: Engine) -> None:
    with wide.begin() as conn:
        assert bulk_insert(conn, _wide, _ROWS) == 3
    stored = read_frame(wide, select(*(_wide.c[n] for n in _ROWS.columns)).order_by(_wide.c.id))
    assert_frame_equal(stored, _ROWS, check_dtypes=False)


def test_postgresql_sends_binary_only_where_every_column_has_a_wire_type(wide: Engine) -> None:
    if wide.dialect.name != "postgresql":
        pytest.skip("COPY formats exist on PostgreSQL only")
    with wide.connect() as conn:
        assert bulk._binary_wire_types(conn, _wide, _ROWS.columns) is not None
        assert bulk._binary_wire_types(conn, _with_numeric, ["code", "amount"]) is None
    frame = pl.DataFrame({"code": ["a", "b"], "amount": [Decimal("12.50"), None]})
    with wide.begin() as conn:
        bulk_insert(conn, _with_numeric, frame)
    with wide.connect() as conn:
        stored = conn.execute(select(_with_numeric.c.amount).order_by(_with_numeric.c.code)).scalars().all()
    assert stored == [Decimal("12.50"), None]


def test_a_row_the_table_refuses_fails_the_insert_and_writes_nothing(wide: Engine) -> None:
    twice = _ROWS.with_columns(pl.Series("id", [1, 1, 2]))
    with pytest.raises(IntegrityError), wide.begin() as conn:
        bulk_insert(conn, _wide, twice)
    assert _stored(wide, _wide, ["id"]).is_empty()


_STORABLE = st.characters(codec="utf-8", exclude_characters="\x00")  # PostgreSQL text has no NUL


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(_STORABLE), min_size=1))
def test_any_text_round_trips(wide: Engine, texts: list[str]) -> None:
    frame = pl.DataFrame(
        {"plain": range(len(texts)), "note": texts}, schema={"plain": pl.Int64, "note": pl.String}
    )
    with wide.begin() as conn:
        conn.execute(delete(_wide))
        bulk_insert(conn, _wide, frame)
    assert _stored(wide, _wide, ["plain", "note"])["note"].to_list() == texts
