"""The vectorised INSZ validator must agree exactly with python-stdnum (through Insz.parse)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kruispunt.identity import Insz, InvalidNumber
from kruispunt.identity.bulk_numbers import parse_insz_column


def _with_check(first_nine: int, century_2000: bool) -> str:
    base = first_nine + (2_000_000_000 if century_2000 else 0)
    return f"{first_nine:09d}{97 - base % 97:02d}"


near_valid = st.builds(
    _with_check,
    st.builds(
        lambda yy, mm, dd, serial: ((yy * 100 + mm) * 100 + dd) * 1000 + serial,
        st.integers(0, 99), st.integers(0, 60), st.integers(0, 35), st.integers(0, 999),
    ),
    st.booleans(),
)  # fmt: skip
anything = st.one_of(
    near_valid,
    st.text(alphabet="0123456789 .-/x", max_size=16),
    st.integers(0, 10**11 - 1).map(lambda v: f"{v:011d}"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(anything, min_size=1, max_size=40))
def test_column_agrees_with_stdnum(values: list[str]) -> None:
    result = parse_insz_column(pl.Series(values, dtype=pl.String))
    for value, row in zip(values, result.iter_rows(named=True), strict=True):
        try:
            insz = Insz.parse(value)
        except InvalidNumber as error:
            assert row["number"] is None and row["error"] == str(error)
            continue
        assert row["number"] == insz.number and row["kind"] == insz.kind.value and row["error"] is None
        complete = insz.birth_date.complete if insz.birth_date else None
        assert row["birth_date"] == complete
        assert row["sex"] == (insz.sex.value if insz.sex else None)
