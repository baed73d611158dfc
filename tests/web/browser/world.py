"""A small synthetic municipality (Huy, 1,500 persons) with statuses, grants and one account per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from kruispunt import identity, rights, statuses, synth
from kruispunt.web import NewAccount, Role, add_account

AS_OF = date(2024, 1, 1)
HUY = "61031"
RIGHT = "waste-tax-exemption-huy"
PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class World:
    home: Path
    citizen_insz: str
    citizen_name: str


def build_world(engine: Engine, home: Path) -> World:
    out = home / "synth"
    synth.generate(1500, 11, [HUY], "parquet", out, as_of=AS_OF)
    identity.load_register(engine, out / "register.parquet", as_of=AS_OF)
    statuses.load_status_feed(engine, out / "statuses.parquet", source="*")
    rights.grant(engine, RIGHT, on=AS_OF)
    granted = rights.active_grants(engine, RIGHT).sort("insz")
    citizen = str(granted["insz"][0])
    record = identity.find_person(engine, citizen)
    assert record is not None
    _accounts(engine, citizen)
    return World(home, citizen, f"{record.first_name} {record.last_name}")


def _accounts(engine: Engine, citizen: str) -> None:
    for new in (
        NewAccount("citizen", Role.CITIZEN, PASSWORD, insz=citizen),
        NewAccount("officer", Role.OFFICER, PASSWORD, municipality_nis=HUY),
        NewAccount("ocmw", Role.OCMW, PASSWORD, municipality_nis=HUY),
        NewAccount("admin", Role.ADMIN, PASSWORD),
        NewAccount("researcher", Role.RESEARCHER, PASSWORD),
    ):
        add_account(engine, new)


def holders_in(frame: pl.DataFrame) -> int:
    return frame["person_id"].n_unique()
