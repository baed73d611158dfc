"""Small stored situations for the rights tests: a register feed and a status feed on any engine."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from kruispunt.identity import NumberGenerator, Sex, load_register
from kruispunt.statuses import STATUS_COLUMNS, load_status_feed
from tests.factories import person_row, write_register

SOURCES = {
    "IGO": "FPD",
    "IVT": "DG_HAN",
    "IT": "DG_HAN",
    "LEEFLOON": "POD_MI",
    "VT": "NIC",
    "VT_DEPENDANT": "NIC",
}


@dataclass(frozen=True)
class Town:
    """Three households: one in Huy with a VT dependant child, one in Huy without status, one in Herstal."""

    huy_head: str
    huy_child: str
    huy_other: str
    herstal_head: str


def write_statuses(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(STATUS_COLUMNS)
        for insz, status, start, end in rows:
            writer.writerow([insz, status, start, end, SOURCES[status]])
    return path


def build_town(engine: Engine, folder: Path) -> Town:
    gen = NumberGenerator(5)
    huy = {"household_id": "HUY-1", "municipality_nis": "61031", "postal_code": "4500"}
    rows = [
        person_row(
            gen, birth=date(1970, 1, 1), sex_=Sex.MALE, first_name="Marc", household_role="head", **huy
        ),
        person_row(gen, birth=date(2010, 6, 1), first_name="Lea", household_role="child", **huy),
        person_row(
            gen,
            birth=date(1980, 3, 3),
            first_name="Nora",
            household_role="head",
            household_id="HUY-2",
            municipality_nis="61031",
            postal_code="4500",
        ),
        person_row(
            gen,
            birth=date(1950, 2, 2),
            first_name="Jos",
            household_role="head",
            household_id="HER-1",
            municipality_nis="62051",
            postal_code="4040",
            street="Rue Large",
        ),
    ]
    load_register(engine, write_register(folder / "register.csv", rows), as_of=date(2019, 1, 1))
    town = Town(rows[0]["insz"], rows[1]["insz"], rows[2]["insz"], rows[3]["insz"])
    statuses = [
        (town.huy_child, "VT_DEPENDANT", "2018-01-01", ""),
        (town.herstal_head, "IGO", "2020-03-01", ""),
    ]
    load_status_feed(engine, write_statuses(folder / "statuses.csv", statuses), source="*")
    return town
