"""A small world for feeds and batches: a household in Huy, an OCMW, a health fund and the municipality."""

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


@dataclass
class World:
    engine: Engine
    folder: Path
    head: str
    partner_insz: str
    child: str
    ocmw: str
    fund: str
    huy: str
    ocmw_token: str
    fund_token: str
    huy_token: str


def write_statuses(path: Path, rows: list[tuple[str, str, str, str]], source: str) -> Path:
    """A status feed: (insz, status, start, end) rows delivered by ``source``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(statuses.STATUS_COLUMNS))
        writer.writeheader()
        for insz, status, start, end in rows:
            writer.writerow(
                {"insz": insz, "status": status, "start_date": start, "end_date": end, "source": source}
            )
    return path


def build_world(engine: Engine, folder: Path) -> World:
    gen = identity.NumberGenerator(11)
    rows = household(gen)
    identity.load_register(engine, write_register(folder / "register.csv", rows), as_of=date(2024, 1, 1))
    head, partner_insz, child = (r["insz"] for r in rows)
    statuses.load_status_feed(
        engine,
        write_statuses(folder / "ocmw-0.csv", [(head, "LEEFLOON", "2023-01-01", "")], "OCMW"),
        source="OCMW",
    )
    ocmw = network.add_partner(engine, gen.kbo().number, 17, "OCMW Hoei").kbo
    fund = network.add_partner(engine, gen.kbo().number, 6, "Ziekenfonds").kbo
    huy = network.add_partner(engine, gen.kbo().number, 99, "Ville de Huy").kbo
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
        number="21/045",
        decided_on=date(2021, 3, 2),
        title="Municipalities: statuses for tax exemptions",
        service="statuses",
        purpose="municipal-tax",
        fields=["LEEFLOON", "VT", "IGO"],
        capacities=[1],
        parties=[huy],
    )
    network.register_integration(engine, ocmw, head, 2, date(2023, 1, 1), date(2024, 12, 31))
    return World(
        engine,
        folder,
        head,
        partner_insz,
        child,
        ocmw,
        fund,
        huy,
        network.issue_token(engine, ocmw).token,
        network.issue_token(engine, fund).token,
        network.issue_token(engine, huy).token,
    )


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path)


@pytest.fixture
def client(world: World, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def headers(token: str | None, message_id: str = "m-1", purpose: str = "social-inquiry") -> dict[str, str]:
    sent = {
        "X-Message-Id": message_id,
        "X-End-User": "sw-0042",
        "X-Case-Reference": "dossier-2024-17",
        "X-Purpose": purpose,
    }
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return sent


sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
