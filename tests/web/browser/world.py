"""A small synthetic municipality (Huy, 1,500 persons) with statuses, grants and one account per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from kruispunt import identity, network, rights, statuses, synth, warehouse
from kruispunt.identity import NumberGenerator
from kruispunt.network import feeds
from kruispunt.web import NewAccount, Role, add_account

AS_OF = date(2024, 1, 1)
HUY = "61031"
RIGHT = "waste-tax-exemption-huy"
PASSWORD = "correct-horse-battery"


OCMW_NAME = "OCMW Hoei (browser test)"
QUARTER = "2023Q4"


@dataclass(frozen=True)
class World:
    home: Path
    citizen_insz: str
    citizen_name: str
    ocmw_kbo: str
    granted: tuple[str, ...]


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
    ocmw = _hub(engine, citizen)
    warehouse.build(engine, home, QUARTER)
    _accounts(engine, citizen, ocmw)
    return World(
        home, citizen, f"{record.first_name} {record.last_name}", ocmw, tuple(granted["insz"].to_list())
    )


def _hub(engine: Engine, citizen: str) -> str:
    """An OCMW partner with an outreach deliberation, the citizen in its file, one consultation."""
    ocmw = NumberGenerator(17).kbo().number
    network.add_partner(engine, ocmw, 17, OCMW_NAME)
    network.add_deliberation(
        engine,
        number="21/017",
        decided_on=date(2021, 1, 19),
        title="OCMW outreach and social inquiry",
        service="statuses",
        purpose="outreach",
        fields=["LEEFLOON", "EQUIV_LEEFLOON", "VT", "WERKLOOS", "OVERBRUGGING"],
        capacities=[1, 2, 3],
        parties=[ocmw],
    )
    network.register_integration(engine, ocmw, citizen, 1, date(2023, 1, 1))
    feeds.subscribe(engine, ocmw, ["status.started"], "outreach")
    token = network.issue_token(engine, ocmw).token
    meta = network.CallMeta(token, "browser-test-1", "social.worker", "case-1", "outreach")
    reply = network.Hub(engine).exchange(meta, network.StatusQuery(citizen))
    assert reply.status == 200, reply.json()
    return ocmw


def _accounts(engine: Engine, citizen: str, ocmw: str) -> None:
    for new in (
        NewAccount("citizen", Role.CITIZEN, PASSWORD, insz=citizen),
        NewAccount("officer", Role.OFFICER, PASSWORD, municipality_nis=HUY),
        NewAccount("ocmw", Role.OCMW, PASSWORD, municipality_nis=HUY, organisation=ocmw),
        NewAccount("admin", Role.ADMIN, PASSWORD),
        NewAccount("researcher", Role.RESEARCHER, PASSWORD),
    ):
        add_account(engine, new)
