"""Small hand-made sources for the warehouse tests: a few persons whose facts are known by heart."""

from __future__ import annotations

from datetime import date

import polars as pl

from kruispunt.warehouse import Sources

HUY, LIEGE, BRUSSELS = "61031", "62063", "21004"


def persons(rows: list[tuple[int, date | None, str | None, date | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"person_id": pl.Int64, "birth_date": pl.Date, "sex": pl.String, "death_date": pl.Date},
        orient="row",
    )


def periods(rows: list[tuple[object, ...]], columns: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=columns, orient="row")


ADDRESS = {"person_id": pl.Int64, "municipality_nis": pl.String, "valid_from": pl.Date, "valid_to": pl.Date}
MEMBERSHIP = {
    "person_id": pl.Int64,
    "household_id": pl.String,
    "role": pl.String,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
}
STATUS = {"person_id": pl.Int64, "status": pl.String, "start_date": pl.Date, "end_date": pl.Date}
LONG_AGO = date(2000, 1, 1)


def family_sources() -> Sources:
    """A couple with a child in Huy, a pensioner who moves to Liège, a man who dies, a Brussels student."""
    people = persons(
        [
            (1, date(1975, 2, 3), "M", None),  # temporarily unemployed and VT: EMPLOYED
            (2, date(1977, 8, 9), "F", None),  # leefloon from 2024-07-01: SOCIAL_ASSISTANCE
            (3, date(2008, 1, 20), "F", None),  # child: PUPIL_STUDENT
            (4, date(1950, 6, 30), "F", None),  # 74, IGO: RETIRED; moves to Liège on 2024-11-15
            (5, date(1960, 1, 1), "M", date(2024, 5, 31)),  # dies before 2024Q2 ends
            (6, date(2000, 12, 31), None, None),  # no sex known, no household, Brussels, unemployed
            (7, date(1990, 12, 31), "F", None),  # turns 34 on the reference day; no status
        ]
    )
    addresses = periods(
        [
            (1, HUY, LONG_AGO, None),
            (2, HUY, LONG_AGO, None),
            (3, HUY, LONG_AGO, None),
            (4, HUY, LONG_AGO, date(2024, 11, 14)),
            (4, LIEGE, date(2024, 11, 15), None),
            (5, HUY, LONG_AGO, None),
            (6, BRUSSELS, LONG_AGO, None),
            (7, LIEGE, LONG_AGO, None),
        ],
        ADDRESS,
    )
    memberships = periods(
        [
            (1, "H1", "head", LONG_AGO, None),
            (2, "H1", "partner", LONG_AGO, None),
            (3, "H1", "child", LONG_AGO, None),
            (4, "H2", "head", LONG_AGO, None),
            (5, "H3", "head", LONG_AGO, None),
            (7, "H4", "head", LONG_AGO, None),
        ],
        MEMBERSHIP,
    )
    statuses = periods(
        [
            (1, "TIJD_WERKLOOS", date(2024, 10, 1), None),
            (1, "VT", date(2020, 1, 1), None),
            (2, "LEEFLOON", date(2024, 7, 1), None),
            (2, "VT", date(2020, 1, 1), date(2024, 12, 30)),
            (4, "IGO", date(2015, 1, 1), None),
            (6, "WERKLOOS", date(2024, 1, 1), date(2024, 12, 31)),
            (6, "IVT", date(2024, 1, 1), date(2024, 12, 31)),
        ],
        STATUS,
    )
    return Sources(
        persons=people,
        addresses=addresses,
        memberships=memberships,
        statuses=statuses,
    )
