"""A small synthetic municipality for the web tests: two households in Hoei / Huy, statuses, accounts."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from kruispunt import identity, statuses
from kruispunt.identity import NumberGenerator, Sex
from kruispunt.web import NewAccount, Role, add_account
from tests.factories import household, person_row, write_register

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Seeded:
    citizen_insz: str
    partner_insz: str
    single_insz: str


def seed_register(engine: Engine, folder: Path) -> Seeded:
    gen = NumberGenerator(7)
    family = household(gen, "H1")
    single = person_row(
        gen,
        birth=date(1950, 6, 1),
        sex_=Sex.MALE,
        first_name="Marcel",
        last_name="Dubois",
        household_id="H2",
        street="Rue du Pont",
        house_number="12",
        address_from="2015-03-01",
    )
    identity.load_register(engine, write_register(folder / "register.csv", [*family, single]))
    moved = {**family[0], "street": "Quai de Namur", "house_number": "5", "address_from": "2021-09-01"}
    identity.load_register(engine, write_register(folder / "register2.csv", [moved, *family[1:], single]))
    _load_statuses(engine, folder, family[0]["insz"], single["insz"])
    return Seeded(family[0]["insz"], family[1]["insz"], single["insz"])


def _load_statuses(engine: Engine, folder: Path, holder: str, elderly: str) -> None:
    path = folder / "nic.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(statuses.STATUS_COLUMNS)
        writer.writerow([holder, "VT", "2020-01-01", "", "NIC"])
    statuses.load_status_feed(engine, path, source="NIC")
    path = folder / "fpd.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(statuses.STATUS_COLUMNS)
        writer.writerow([elderly, "IGO", "2016-01-01", "2022-12-31", "FPD"])
    statuses.load_status_feed(engine, path, source="FPD")


def seed_accounts(engine: Engine, seeded: Seeded) -> None:
    accounts = [
        NewAccount("jan", Role.CITIZEN, PASSWORD, insz=seeded.citizen_insz),
        NewAccount("officer", Role.OFFICER, PASSWORD, municipality_nis="61031"),
        NewAccount("ocmw", Role.OCMW, PASSWORD, municipality_nis="61031"),
        NewAccount("admin", Role.ADMIN, PASSWORD),
        NewAccount("researcher", Role.RESEARCHER, PASSWORD),
    ]
    for account in accounts:
        add_account(engine, account)
