"""A small world for the hub: a household in the register, statuses, two partners, a deliberation."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kruispunt import identity, network, statuses
from kruispunt.api import create_app
from kruispunt.config import Settings
from tests.factories import household, write_register

TODAY = date(2024, 6, 15)


@dataclass
class World:
    engine: Engine
    head: str
    partner_insz: str
    child: str
    ocmw: str
    fund: str
    ocmw_token: str
    fund_token: str


def _write_statuses(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(statuses.STATUS_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def build_world(engine: Engine, folder: Path) -> World:
    gen = identity.NumberGenerator(7)
    rows = household(gen)
    identity.load_register(engine, write_register(folder / "register.csv", rows), as_of=date(2024, 1, 1))
    head, partner_insz, child = (r["insz"] for r in rows)
    statuses.load_status_feed(
        engine,
        _write_statuses(
            folder / "ocmw.csv",
            [
                {
                    "insz": head,
                    "status": "LEEFLOON",
                    "start_date": "2023-01-01",
                    "end_date": "",
                    "source": "OCMW",
                },
            ],
        ),
        source="OCMW",
    )
    statuses.load_status_feed(
        engine,
        _write_statuses(
            folder / "nic.csv",
            [{"insz": head, "status": "VT", "start_date": "2022-01-01", "end_date": "", "source": "NIC"}],
        ),
        source="NIC",
    )
    ocmw = network.add_partner(engine, gen.kbo().number, 17, "OCMW Hoei").kbo
    fund = network.add_partner(engine, gen.kbo().number, 6, "Ziekenfonds").kbo
    network.add_deliberation(
        engine,
        number="20/123",
        decided_on=date(2020, 6, 2),
        title="OCMW: statuses for the social inquiry",
        service="statuses",
        purpose="social-inquiry",
        fields=["LEEFLOON", "EQUIV_LEEFLOON"],
        capacities=[1, 2, 3],
        parties=[ocmw],
    )
    network.add_deliberation(
        engine,
        number="20/124",
        decided_on=date(2020, 6, 2),
        title="OCMW: identity and household",
        service="identity",
        purpose="social-inquiry",
        fields=["last_name", "first_name", "household"],
        capacities=[2],
        parties=[ocmw],
    )
    network.register_integration(engine, ocmw, head, 2, date(2023, 1, 1), date(2024, 12, 31))
    return World(
        engine,
        head,
        partner_insz,
        child,
        ocmw,
        fund,
        network.issue_token(engine, ocmw).token,
        network.issue_token(engine, fund).token,
    )


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path)


@pytest.fixture
def client(world: World, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def headers(token: str | None, message_id: str = "m-1", **overrides: str) -> dict[str, str]:
    """Call metadata as a partner sends it."""
    sent = {
        "X-Message-Id": message_id,
        "X-End-User": "sw-0042",
        "X-Case-Reference": "dossier-2024-17",
        "X-Purpose": "social-inquiry",
    }
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(overrides)
    return {k: v for k, v in sent.items() if v != ""}


# Behaviour that does not depend on the database runs on SQLite only, to keep the suite fast.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
