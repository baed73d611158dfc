"""Small, explicit test data: register feed rows built from valid generated numbers."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from kruispunt.identity import REGISTER_COLUMNS, NumberGenerator, Sex


def person_row(gen: NumberGenerator, **overrides: Any) -> dict[str, str]:
    birth = overrides.pop("birth", date(1980, 4, 12))
    sex = overrides.pop("sex_", Sex.FEMALE)
    insz = gen.insz(birth, sex)
    row = {
        "insz": insz.number,
        "last_name": "Peeters",
        "first_name": "An",
        "birth_date": birth.isoformat(),
        "sex": sex.value,
        "death_date": "",
        "household_id": "H1",
        "household_role": "head",
        "municipality_nis": "61031",
        "postal_code": "4500",
        "street": "Grand-Place",
        "house_number": "1",
        "address_from": "2010-01-01",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def write_register(
    path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = REGISTER_COLUMNS
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def household(
    gen: NumberGenerator, household_id: str = "H1", nis: str = "61031", postal: str = "4500"
) -> list[dict[str, str]]:
    """A couple with one child."""
    common = {"household_id": household_id, "municipality_nis": nis, "postal_code": postal}
    return [
        person_row(
            gen, birth=date(1975, 2, 3), sex_=Sex.MALE, first_name="Jan", household_role="head", **common
        ),
        person_row(
            gen, birth=date(1977, 8, 9), sex_=Sex.FEMALE, first_name="Els", household_role="partner", **common
        ),
        person_row(
            gen, birth=date(2008, 1, 20), sex_=Sex.FEMALE, first_name="Lien", household_role="child", **common
        ),
    ]
