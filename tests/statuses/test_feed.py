"""Status feed validation, property-based: every wrong value is named by line and field, good rows pass."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kruispunt.feeds import FeedRejected
from kruispunt.identity import NumberGenerator, Sex
from kruispunt.statuses import catalogue
from kruispunt.statuses.feed import UNKNOWN_PERSON, validate_status_feed
from tests.statuses.helpers import write_statuses

GEN = NumberGenerator(42)
REGISTERED = [
    GEN.insz(date(1950 + i, 1 + i % 12, 1 + i), Sex.MALE if i % 2 else Sex.FEMALE) for i in range(4)
]
STRANGER = GEN.insz(date(1999, 9, 9), Sex.FEMALE)
NUMBERS = pl.DataFrame(
    {"number": [int(n.number) for n in REGISTERED], "person_id": [1, 2, 3, 4], "current": [True] * 4}
)

# Each field: (value, the error the field must produce or None when the value is good).
INSZ = st.sampled_from(
    [(n.number, None) for n in REGISTERED]
    + [
        (REGISTERED[0].formatted, None),
        ("", "insz"),
        ("12345678901", "insz"),
        (STRANGER.number, "insz"),
        ("abc", "insz"),
    ]
)
STATUS = st.sampled_from(
    [("VT", None), ("VT_DEPENDANT", None), ("IGO", "status"), ("NOPE", "status"), ("", "status")]
)
START = st.sampled_from(
    [("2020-01-01", None), ("2020-02-30", "start_date"), ("", "start_date"), ("01/02/2020", "start_date")]
)
END = st.sampled_from(
    [("", None), ("2021-12-31", None), ("2019-12-31", "end_date"), ("2021-13-01", "end_date")]
)
SOURCE = st.sampled_from([("NIC", None), ("FPD", "source"), ("", "source")])


def _expected(
    insz: tuple[str, str | None],
    status: tuple[str, str | None],
    start: tuple[str, str | None],
    end: tuple[str, str | None],
    source: tuple[str, str | None],
) -> set[str]:
    fields = {f for _, f in (insz, status, start, source) if f}
    if end[1] == "end_date" and (end[0] != "2019-12-31" or start[1] is None):
        fields.add("end_date")  # "before start" needs a start date to compare with
    if status[0] == "IGO" and source[1] is not None:
        fields.discard("status")  # ownership is only checked for a row of the load's own source
    return fields


@given(st.lists(st.tuples(INSZ, STATUS, START, END, SOURCE), min_size=1, max_size=8))
@settings(max_examples=120, deadline=None)
def test_every_wrong_value_is_reported_with_line_and_field(
    rows: list[tuple[tuple[str, str | None], ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_statuses(Path(tmp) / "s.csv", [tuple(v for v, _ in row) for row in rows])  # type: ignore[misc]
        feed = validate_status_feed(path, source="NIC", numbers=NUMBERS, catalogue=catalogue())
    reported = {(line, field) for line, field, _ in feed.errors.iter_rows()}
    expected = {(index + 2, field) for index, row in enumerate(rows) for field in _expected(*row)}
    assert reported == expected
    bad_lines = {line for line, _ in expected}
    assert sorted(feed.rows["__line"].to_list()) == [
        i + 2 for i in range(len(rows)) if i + 2 not in bad_lines
    ]
    assert feed.rows["person_id"].null_count() == 0


def test_unknown_person_is_told_apart_from_a_wrong_number(tmp_path: Path) -> None:
    path = write_statuses(
        tmp_path / "s.csv",
        [(STRANGER.number, "VT", "2020-01-01", "", "NIC"), ("93051822362", "VT", "2020-01-01", "", "NIC")],
    )
    feed = validate_status_feed(path, source="NIC", numbers=NUMBERS, catalogue=catalogue())
    reasons = dict(zip(feed.errors["__line"].to_list(), feed.errors["reason"].to_list(), strict=True))
    assert reasons[2] == UNKNOWN_PERSON and "check digits" in reasons[3]
    assert feed.unknown_persons == 1


def test_multi_source_file_checks_each_rows_own_source(tmp_path: Path) -> None:
    insz = REGISTERED[0].number
    path = write_statuses(
        tmp_path / "s.csv",
        [
            (insz, "VT", "2020-01-01", "", "NIC"),
            (insz, "IGO", "2020-01-01", "", "FPD"),
            (insz, "IGO", "2020-01-01", "", "NIC"),
            (insz, "VT", "2020-01-01", "", "XYZ"),
        ],
    )
    feed = validate_status_feed(path, source="*", numbers=NUMBERS, catalogue=catalogue())
    assert sorted(feed.errors.select("__line", "field").rows()) == [(4, "status"), (5, "source")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("insz,status,start_date,end_date\n", "required column is missing"),
        (
            "insz,status,start_date,end_date,source\n93051822361,VT,2020-01-01,,NIC\n93051822361,VT,2020",
            "has 3 fields",
        ),
    ],
)
def test_damaged_files_are_rejected_whole(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FeedRejected, match=reason):
        validate_status_feed(path, source="NIC", numbers=NUMBERS, catalogue=catalogue())


def test_parquet_feeds_are_read_like_csv(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    pl.DataFrame(
        {
            "insz": [REGISTERED[1].number],
            "status": ["VT"],
            "start_date": ["2020-01-01"],
            "end_date": [None],
            "source": ["NIC"],
        },
        schema={c: pl.String for c in ("insz", "status", "start_date", "end_date", "source")},
    ).write_parquet(path)
    feed = validate_status_feed(path, source="NIC", numbers=NUMBERS, catalogue=catalogue())
    assert feed.errors.is_empty() and feed.rows["person_id"].to_list() == [2]
